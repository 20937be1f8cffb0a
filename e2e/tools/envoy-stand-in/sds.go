package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

const secretType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"

const retryInterval = time.Second

// dialPipe connects to a cluster's unix socket; reconnecting every second, not with gRPC's
// default backoff of up to two minutes, keeps a late SPIRE agent socket from going unnoticed.
func dialPipe(clusterName, path string) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+clusterName,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: retryInterval, Multiplier: 1, MaxDelay: retryInterval},
			MinConnectTimeout: retryInterval,
		}))
}

// streamSecrets watches each secret on a stream of its own over one connection, as Envoy does
// for SDS configs that name the same cluster.
func streamSecrets(ctx context.Context, path string, node *corev3.Node, names []string) {
	conn, err := dialPipe(sdsCluster, path)
	if err != nil {
		printError(fmt.Errorf("sds: %w", err))
		return
	}
	defer conn.Close()
	client := secretv3.NewSecretDiscoveryServiceClient(conn)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			retry(ctx, "sds "+name, func() error { return watchSecret(ctx, client, node, name) })
		})
	}
	wg.Wait()
}

// retry runs a stream until the context ends, printing why each attempt ended.
func retry(ctx context.Context, what string, stream func() error) {
	for {
		err := stream()
		if ctx.Err() != nil {
			return
		}
		printError(fmt.Errorf("%s: %w", what, err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryInterval):
		}
	}
}

// watchSecret requests one secret and acks every response, so the server pushes rotations
// on the same stream.
func watchSecret(ctx context.Context, client secretv3.SecretDiscoveryServiceClient, node *corev3.Node, name string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.StreamSecrets(ctx)
	if err != nil {
		return err
	}
	req := &discoveryv3.DiscoveryRequest{Node: node, ResourceNames: []string{name}, TypeUrl: secretType}
	for {
		if err := stream.Send(req); err != nil {
			return err
		}
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if err := reportSecrets(name, resp); err != nil {
			return err
		}
		req = &discoveryv3.DiscoveryRequest{
			ResourceNames: []string{name}, TypeUrl: secretType,
			VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce(),
		}
	}
}

func reportSecrets(name string, resp *discoveryv3.DiscoveryResponse) error {
	if len(resp.GetResources()) == 0 {
		return fmt.Errorf("response %q carries no secret", resp.GetVersionInfo())
	}
	for _, r := range resp.GetResources() {
		var s tlsv3.Secret
		if err := r.UnmarshalTo(&s); err != nil {
			return fmt.Errorf("resource of type %s: %w", r.GetTypeUrl(), err)
		}
		if s.GetName() == "" {
			s.Name = name
		}
		line, err := describeSecret(&s)
		if err != nil {
			return err
		}
		printLine(line)
	}
	return nil
}

type secretLine struct {
	Resource         string            `json:"resource"`
	CertificateChain string            `json:"certificateChain,omitempty"`
	PrivateKey       *bool             `json:"privateKey,omitempty"`
	TrustedCa        string            `json:"trustedCa,omitempty"`
	TrustDomains     map[string]string `json:"trustDomains,omitempty"`
}

func describeSecret(s *tlsv3.Secret) (*secretLine, error) {
	switch {
	case s.GetTlsCertificate() != nil:
		return describeCertificate(s.GetName(), s.GetTlsCertificate())
	case s.GetValidationContext() != nil:
		return describeValidationContext(s.GetName(), s.GetValidationContext())
	}
	return nil, fmt.Errorf("secret %s is neither a TLS certificate nor a validation context", s.GetName())
}

func describeCertificate(name string, c *tlsv3.TlsCertificate) (*secretLine, error) {
	chain, err := inline(c.GetCertificateChain())
	if err != nil {
		return nil, fmt.Errorf("secret %s certificate_chain: %w", name, err)
	}
	key, _ := inline(c.GetPrivateKey())
	hasKey := key != ""
	return &secretLine{Resource: name, CertificateChain: chain, PrivateKey: &hasKey}, nil
}

// describeValidationContext reads either a plain trusted CA or the SPIFFE certificate
// validator's per-trust-domain bundles, which SPIRE sends to clients that support it.
func describeValidationContext(name string, vc *tlsv3.CertificateValidationContext) (*secretLine, error) {
	if vc.GetTrustedCa() != nil {
		ca, err := inline(vc.GetTrustedCa())
		if err != nil {
			return nil, fmt.Errorf("secret %s trusted_ca: %w", name, err)
		}
		return &secretLine{Resource: name, TrustedCa: ca}, nil
	}
	custom := vc.GetCustomValidatorConfig()
	if custom == nil {
		return nil, fmt.Errorf("secret %s has neither trusted_ca nor custom_validator_config", name)
	}
	var spiffe tlsv3.SPIFFECertValidatorConfig
	if err := custom.GetTypedConfig().UnmarshalTo(&spiffe); err != nil {
		return nil, fmt.Errorf("secret %s validator %s: %w", name, custom.GetName(), err)
	}
	domains := map[string]string{}
	for _, td := range spiffe.GetTrustDomains() {
		pem, err := inline(td.GetTrustBundle())
		if err != nil {
			return nil, fmt.Errorf("secret %s trust domain %s: %w", name, td.GetName(), err)
		}
		domains[td.GetName()] = pem
	}
	return &secretLine{Resource: name, TrustDomains: domains}, nil
}

// inline reads a data source as SPIRE sends it, inline; a file or environment variable would
// name something outside what the SDS server served.
func inline(ds *corev3.DataSource) (string, error) {
	switch s := ds.GetSpecifier().(type) {
	case *corev3.DataSource_InlineBytes:
		return string(s.InlineBytes), nil
	case *corev3.DataSource_InlineString:
		return s.InlineString, nil
	case nil:
		return "", fmt.Errorf("empty")
	default:
		return "", fmt.Errorf("not inline: %T", s)
	}
}
