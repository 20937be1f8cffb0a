// Cluster DNS for the e2e node: CoreDNS with only the plugins the suite's Corefile uses, so the
// build stays small. Pods resolve Service names through it as on any cluster.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order plugins run in; CoreDNS's own build generates this list from plugin.cfg.
func init() {
	dnsserver.Directives = []string{"bind", "health", "ready", "errors", "hosts", "kubernetes"}
}

func main() { coremain.Run() }
