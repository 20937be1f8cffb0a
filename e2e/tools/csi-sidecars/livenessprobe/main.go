// Command livenessprobe answers /healthz with the CSI driver's own Probe, taking the flags of
// kubernetes-csi/livenessprobe that the manifests pass.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var (
	csiAddress   = flag.String("csi-address", "/run/csi/socket", "Path of the CSI driver socket.")
	healthPort   = flag.Int("health-port", 9808, "Port for /healthz.")
	probeTimeout = flag.Duration("probe-timeout", 0, "Timeout of each Probe call; 0 uses the request's own.")
	version      = flag.Bool("version", false, "Print the version and exit.")
)

const standInVersion = "livenessprobe stand-in (cdk8s-spire-istio e2e)"

func probe(ctx context.Context, client csi.IdentityClient) error {
	if *probeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *probeTimeout)
		defer cancel()
	}
	resp, err := client.Probe(ctx, &csi.ProbeRequest{})
	if err != nil {
		return err
	}
	if ready := resp.GetReady(); ready != nil && !ready.GetValue() {
		return fmt.Errorf("driver reports not ready")
	}
	return nil
}

func main() {
	flag.Parse()
	if *version {
		fmt.Println(standInVersion)
		return
	}
	conn, err := grpc.NewClient("unix://"+*csiAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("connecting to %s: %v", *csiAddress, err)
	}
	client := csi.NewIdentityClient(conn)
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := probe(r.Context(), client); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	log.Fatal(http.ListenAndServe(fmt.Sprintf(":%d", *healthPort), nil))
}
