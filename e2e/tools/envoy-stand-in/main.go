// Command envoy stands in for Envoy in the e2e suite's istio-proxy container, where the real
// pilot-agent of the pinned Istio release execs it exactly as it execs Envoy.
//
// What it proves: that the bootstrap pilot-agent wrote points Envoy's SDS cluster (sds-grpc) at
// SPIRE's Workload API socket, and that SPIRE serves the `default` certificate and the `ROOTCA`
// validation context there to this container, over Envoy's own SDS protocol, including
// rotations. Each secret received is printed as one line on stdout. The socket path alone does
// not tell SPIRE from pilot-agent's own SDS server, which listens there when it finds no SPIRE
// socket; the printed certificates (SPIRE's trust domain and SPIFFE ID) do.
//
// What it does not prove: it is not Envoy. It opens no listeners from xDS and carries no
// traffic, so mTLS between workloads, authorization policies and routing are not exercised. It
// requests CDS and LDS over ADS through pilot-agent's XDS proxy only to count the responses
// (it accepts whatever arrives, applying nothing), so pilot-agent's readiness check reflects
// whether istiod really answered. Of the bootstrap's static listeners it serves only the plain
// HTTP prefix routes to static clusters (the health listener kubelet probes, forwarded to
// pilot-agent), and its admin interface answers only what pilot-agent uses.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `envoy: a stand-in for Envoy under pilot-agent in the e2e suite; not Envoy.

usage: envoy -c BOOTSTRAP [any other Envoy flag, ignored]

Reads the bootstrap (JSON or YAML), streams the SDS secrets "default" and "ROOTCA" from the
sds-grpc cluster's socket and prints each as one stdout line:
  envoy-stand-in: {"resource":"default","certificateChain":"<PEM>","privateKey":true}
  envoy-stand-in: {"resource":"ROOTCA","trustedCa":"<PEM>"}
  envoy-stand-in: {"resource":"ROOTCA","trustDomains":{"<trust domain>":"<PEM>"}}
  envoy-stand-in: {"error":"..."}   (then retries every second)
Requests CDS and LDS over ADS (xds-grpc cluster) and reports in its admin /stats the responses
actually received; applies none of them. Serves the bootstrap's static HTTP prefix routes
(e.g. the health listener) and an admin interface with /stats, /stats/prometheus,
/drain_listeners and /quitquitquit. Exits on SIGTERM, SIGINT and /quitquitquit.
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		printError(err)
		os.Exit(1)
	}
}

func run(args []string) error {
	configPath, help := parseFlags(args)
	if help {
		fmt.Print(usage)
		return nil
	}
	if configPath == "" {
		return fmt.Errorf("no bootstrap given (-c)")
	}
	b, err := loadBootstrap(configPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, quit := context.WithCancelCause(ctx)
	defer quit(nil)
	return serve(ctx, quit, b)
}

// parseFlags finds the bootstrap path among Envoy's flags; pilot-agent passes many others
// (--drain-time-s, --local-address-ip-version, -l, ...) that a stand-in has no use for.
func parseFlags(args []string) (configPath string, help bool) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-h" || a == "--help":
			help = true
		case (a == "-c" || a == "--config-path") && i+1 < len(args):
			i++
			configPath = args[i]
		case len(a) > len("--config-path=") && a[:len("--config-path=")] == "--config-path=":
			configPath = a[len("--config-path="):]
		}
	}
	return configPath, help
}

func serve(ctx context.Context, quit context.CancelCauseFunc, b *bootstrap) error {
	st := newStats()
	node, err := b.envoyNode()
	if err != nil {
		return err
	}
	sdsPath, err := b.pipePath(sdsCluster)
	if err != nil {
		return err
	}
	errs := make(chan error, 1)
	go func() { errs <- serveAdmin(ctx, quit, b, st) }()
	go func() { errs <- serveStaticRoutes(ctx, b) }()
	go streamSecrets(ctx, sdsPath, node, []string{"default", "ROOTCA"})
	go streamADS(ctx, b, node, st)
	logf("pid %d: SDS from %s; CDS/LDS counted, not applied", os.Getpid(), sdsPath)
	select {
	case <-ctx.Done():
		logf("exiting: %v", context.Cause(ctx))
		return nil
	case err := <-errs:
		return err
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "envoy-stand-in log: "+format+"\n", args...)
}
