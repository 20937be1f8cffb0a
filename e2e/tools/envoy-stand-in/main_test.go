package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The bootstrap in the shape pilot-agent renders from Istio's template, cut to what is read,
// with the pipe paths relative as the template writes the SDS one.
const bootstrapTemplate = `{
  "node": {"id": "sidecar~10.0.0.1~app-0.ns~ns.svc.cluster.local", "cluster": "app.ns",
           "locality": {}, "metadata": {"ISTIO_VERSION": "1.31.0", "NAMESPACE": "ns"}},
  "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": %d}}},
  "dynamic_resources": {"ads_config": {"api_type": "DELTA_GRPC", "set_node_on_first_message_only": true,
    "grpc_services": [{"envoy_grpc": {"cluster_name": "xds-grpc"}}]}},
  "static_resources": {
    "clusters": [
      {"name": "agent", "type": "STATIC", "load_assignment": {"cluster_name": "agent", "endpoints": [{"lb_endpoints": [
        {"endpoint": {"address": {"socket_address": {"protocol": "TCP", "address": "127.0.0.1", "port_value": %d}}}}]}]}},
      {"name": "sds-grpc", "type": "STATIC", "load_assignment": {"cluster_name": "sds-grpc", "endpoints": [{"lb_endpoints": [
        {"endpoint": {"address": {"pipe": {"path": "./var/run/secrets/workload-spiffe-uds/socket"}}}}]}]}},
      {"name": "xds-grpc", "type": "STATIC", "load_assignment": {"cluster_name": "xds-grpc", "endpoints": [{"lb_endpoints": [
        {"endpoint": {"address": {"pipe": {"path": "./etc/istio/proxy/XDS"}}}}]}]}}
    ],
    "listeners": [{
      "name": "127.0.0.1_%d",
      "address": {"socket_address": {"protocol": "TCP", "address": "127.0.0.1", "port_value": %d}},
      "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "route_config": {"virtual_hosts": [{"name": "backend", "domains": ["*"], "routes": [
          {"match": {"prefix": "/healthz/ready"}, "route": {"cluster": "agent"}}]}]}}}]}]
    }]
  }
}`

func TestStandInStreamsSecretsCountsUpdatesAndAnswersPilotAgent(t *testing.T) {
	t.Chdir(t.TempDir())
	out := &lockedBuffer{}
	stdoutTo = out
	sds := &fakeSDS{acks: make(chan *discoveryv3.DiscoveryRequest, 10)}
	serveGRPC(t, "var/run/secrets/workload-spiffe-uds/socket", func(s *grpc.Server) { secretv3.RegisterSecretDiscoveryServiceServer(s, sds) })
	serveGRPC(t, "etc/istio/proxy/XDS", func(s *grpc.Server) { discoveryv3.RegisterAggregatedDiscoveryServiceServer(s, &fakeADS{}) })
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer agent.Close()
	adminPort, healthPort := freePort(t), freePort(t)
	b := writeBootstrap(t, adminPort, agent.Listener.Addr().(*net.TCPAddr).Port, healthPort)

	ctx, quit := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, quit, b) }()

	waitFor(t, "both secrets and the rotated certificate", func() bool {
		s := out.String()
		return strings.Contains(s, `envoy-stand-in: {"resource":"default","certificateChain":"CHAIN-1","privateKey":true}`+"\n") &&
			strings.Contains(s, `envoy-stand-in: {"resource":"ROOTCA","trustDomains":{"example.org":"BUNDLE"}}`+"\n") &&
			strings.Contains(s, `envoy-stand-in: {"resource":"default","certificateChain":"CHAIN-2","privateKey":true}`+"\n")
	})
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	waitFor(t, "the stats pilot-agent's readiness probe reads", func() bool {
		return get(t, admin+`/stats?usedonly&filter=^(server\.state|listener_manager\.workers_started)`) ==
			"listener_manager.workers_started: 1\nserver.state: 0\n" &&
			get(t, admin+`/stats?usedonly&filter=^(cluster_manager\.cds|listener_manager\.lds)\.(update_success|update_rejected)$`) ==
				"cluster_manager.cds.update_success: 1\nlistener_manager.lds.update_success: 1\n"
	})
	if code := status(t, fmt.Sprintf("http://127.0.0.1:%d/healthz/ready", healthPort)); code != http.StatusOK {
		t.Errorf("health listener answered %d, want the agent's 200", code)
	}
	if ack := <-sds.acks; ack.GetResponseNonce() == "" || ack.GetNode() != nil {
		t.Errorf("first ack %v: want the response's nonce and no node", ack)
	}
	if _, err := http.Post(admin+"/quitquitquit", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("serve returned %v after /quitquitquit", err)
	}
}

func TestParseFlagsFindsTheBootstrapAmongEnvoysFlags(t *testing.T) {
	args := strings.Fields("-c etc/istio/proxy/envoy-rev.json --drain-time-s 45 --drain-strategy immediate " +
		"--local-address-ip-version v4 --file-flush-interval-msec 1000 --disable-hot-restart " +
		"--allow-unknown-static-fields -l warning --component-log-level misc:error --concurrency 2")
	if path, help := parseFlags(args); path != "etc/istio/proxy/envoy-rev.json" || help {
		t.Errorf("parseFlags = %q, %v", path, help)
	}
}

type fakeSDS struct {
	secretv3.UnimplementedSecretDiscoveryServiceServer
	acks chan *discoveryv3.DiscoveryRequest
}

// StreamSecrets answers like SPIRE's agent: the certificate, then a rotation once acked; the
// bundle as a SPIFFE validator config.
func (f *fakeSDS) StreamSecrets(stream secretv3.SecretDiscoveryService_StreamSecretsServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	if req.GetNode().GetId() == "" || req.GetTypeUrl() != secretType || len(req.GetResourceNames()) != 1 {
		return fmt.Errorf("unexpected first request %v", req)
	}
	name := req.GetResourceNames()[0]
	versions := []string{"CHAIN-1", "CHAIN-2"}
	if name == "ROOTCA" {
		versions = versions[:1]
	}
	for i, chain := range versions {
		if err := stream.Send(secretResponse(name, chain, i)); err != nil {
			return err
		}
		ack, err := stream.Recv()
		if err != nil {
			return err
		}
		if name == "default" && i == 0 {
			f.acks <- ack
		}
	}
	<-stream.Context().Done()
	return nil
}

func secretResponse(name, chain string, version int) *discoveryv3.DiscoveryResponse {
	secret := &tlsv3.Secret{Name: name}
	if name == "ROOTCA" {
		spiffe := mustAny(&tlsv3.SPIFFECertValidatorConfig{TrustDomains: []*tlsv3.SPIFFECertValidatorConfig_TrustDomain{
			{Name: "example.org", TrustBundle: inlineBytes("BUNDLE")},
		}})
		secret.Type = &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			CustomValidatorConfig: &corev3.TypedExtensionConfig{Name: "envoy.tls.cert_validator.spiffe", TypedConfig: spiffe},
		}}
	} else {
		secret.Type = &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
			CertificateChain: inlineBytes(chain), PrivateKey: inlineBytes("KEY"),
		}}
	}
	return &discoveryv3.DiscoveryResponse{
		VersionInfo: fmt.Sprint(version), Nonce: fmt.Sprint("nonce-", version),
		TypeUrl: secretType, Resources: []*anypb.Any{mustAny(secret)},
	}
}

type fakeADS struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
}

// DeltaAggregatedResources answers each subscription once, as istiod does with no change.
func (fakeADS) DeltaAggregatedResources(stream discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		if req.GetResponseNonce() != "" {
			continue
		}
		if err := stream.Send(&discoveryv3.DeltaDiscoveryResponse{TypeUrl: req.GetTypeUrl(), Nonce: "n-" + req.GetTypeUrl()}); err != nil {
			return err
		}
	}
}

func serveGRPC(t *testing.T, path string, register func(*grpc.Server)) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
}

func writeBootstrap(t *testing.T, adminPort, agentPort, healthPort int) *bootstrap {
	t.Helper()
	path := "etc/istio/proxy/envoy-rev.json"
	content := fmt.Sprintf(bootstrapTemplate, adminPort, agentPort, healthPort, healthPort)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := loadBootstrap(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func inlineBytes(s string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: []byte(s)}}
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
