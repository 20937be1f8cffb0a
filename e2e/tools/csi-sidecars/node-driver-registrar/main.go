// Command node-driver-registrar registers a CSI driver with the kubelet's plugin watcher, taking
// the flags of kubernetes-csi/node-driver-registrar that the manifests pass: it asks the driver
// its name, serves the registration API on <plugin-registration-path>/<name>-reg.sock, exits
// when the kubelet reports a failed registration, and answers /healthz while the socket exists.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

var (
	csiAddress              = flag.String("csi-address", "/run/csi/socket", "Path of the CSI driver socket in this container.")
	kubeletRegistrationPath = flag.String("kubelet-registration-path", "", "Path of the CSI driver socket on the node, as the kubelet reaches it.")
	pluginRegistrationPath  = flag.String("plugin-registration-path", "/registration", "Directory the kubelet's plugin watcher scans.")
	healthPort              = flag.Int("health-port", 0, "Port for /healthz; 0 disables it.")
	timeout                 = flag.Duration("timeout", time.Second, "Timeout of each call to the CSI driver.")
	version                 = flag.Bool("version", false, "Print the version and exit.")
)

const standInVersion = "node-driver-registrar stand-in (cdk8s-spire-istio e2e)"

type registrationServer struct {
	registerapi.UnimplementedRegistrationServer
	driverName string
	endpoint   string
}

func (s *registrationServer) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.driverName,
		Endpoint:          s.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (s *registrationServer) NotifyRegistrationStatus(_ context.Context, status *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if !status.PluginRegistered {
		log.Printf("registration failed: %s", status.Error)
		os.Exit(1)
	}
	log.Printf("registered %s with the kubelet", s.driverName)
	return &registerapi.RegistrationStatusResponse{}, nil
}

// driverName asks the driver its name, retrying until the driver's socket answers.
func driverName() string {
	conn, err := grpc.NewClient("unix://"+*csiAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("connecting to %s: %v", *csiAddress, err)
	}
	defer conn.Close()
	client := csi.NewIdentityClient(conn)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		info, err := client.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
		cancel()
		if err == nil {
			return info.GetName()
		}
		log.Printf("waiting for the CSI driver at %s: %v", *csiAddress, err)
		time.Sleep(time.Second)
	}
}

func serveHealth(socketPath string) {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if info, err := os.Stat(socketPath); err != nil || info.Mode()&os.ModeSocket == 0 {
			http.Error(w, fmt.Sprintf("registration socket %s is gone", socketPath), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	log.Fatal(http.ListenAndServe(fmt.Sprintf(":%d", *healthPort), nil))
}

func main() {
	flag.Parse()
	if *version {
		fmt.Println(standInVersion)
		return
	}
	if *kubeletRegistrationPath == "" {
		log.Fatal("-kubelet-registration-path is required")
	}
	name := driverName()
	socketPath := filepath.Join(*pluginRegistrationPath, name+"-reg.sock")
	if err := os.Remove(socketPath); err != nil && !os.IsNotExist(err) {
		log.Fatalf("removing stale %s: %v", socketPath, err)
	}
	listener, err := net.Listen("unix", socketPath)
	if err != nil {
		log.Fatalf("listening on %s: %v", socketPath, err)
	}
	server := grpc.NewServer()
	registerapi.RegisterRegistrationServer(server, &registrationServer{driverName: name, endpoint: *kubeletRegistrationPath})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		server.Stop()
		os.Remove(socketPath)
		os.Exit(0)
	}()
	if *healthPort != 0 {
		go serveHealth(socketPath)
	}
	log.Printf("serving registration of %s at %s", name, socketPath)
	log.Fatal(server.Serve(listener))
}
