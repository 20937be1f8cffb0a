package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
)

// serveAdmin answers what pilot-agent asks of Envoy's admin interface: /stats for readiness
// (pilot/cmd/pilot-agent/status/ready) and the drain's active connections, /stats/prometheus
// for its merged metrics, and drain_listeners and quitquitquit to stop it (pkg/envoy).
func serveAdmin(ctx context.Context, quit context.CancelCauseFunc, b *bootstrap, st *stats) error {
	addr, err := b.Admin.Address.hostPort()
	if err != nil {
		return errors.New("bootstrap admin.address: " + err.Error())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		filter, err := regexp.Compile(r.URL.Query().Get("filter"))
		if err != nil {
			http.Error(w, "Invalid re2 regex", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(st.text(filter)))
	})
	mux.HandleFunc("GET /stats/prometheus", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_, _ = w.Write([]byte(st.prometheus()))
	})
	// Draining stops listeners from accepting traffic; the stand-in carries none.
	mux.HandleFunc("POST /drain_listeners", func(w http.ResponseWriter, r *http.Request) {
		logf("drain_listeners?%s", r.URL.RawQuery)
		_, _ = w.Write([]byte("OK\n"))
	})
	mux.HandleFunc("POST /quitquitquit", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("OK\n"))
		quit(errors.New("/quitquitquit"))
	})
	return listenAndServe(ctx, addr, mux)
}

// serveStaticRoutes serves the bootstrap's static listeners whose HTTP routes send a path
// prefix to a static cluster, such as the health listener (15021) that forwards
// /healthz/ready to pilot-agent, so kubelet's probe reaches pilot-agent as through Envoy.
func serveStaticRoutes(ctx context.Context, b *bootstrap) error {
	errs := make(chan error, len(b.StaticResources.Listeners))
	n := 0
	for _, l := range b.StaticResources.Listeners {
		handler, err := routeHandler(b, l)
		if err != nil {
			return err
		}
		if handler == nil {
			continue
		}
		addr, err := l.Address.hostPort()
		if err != nil {
			return errors.New("bootstrap listener " + l.Name + ": " + err.Error())
		}
		n++
		go func() { errs <- listenAndServe(ctx, addr, handler) }()
	}
	for range n {
		if err := <-errs; err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

type prefixRoute struct {
	prefix string
	proxy  *httputil.ReverseProxy
}

// routeHandler proxies a listener's prefix routes; nil if it has none.
func routeHandler(b *bootstrap, l listener) (http.Handler, error) {
	var routes []prefixRoute
	for _, fc := range l.FilterChains {
		for _, f := range fc.Filters {
			for _, vh := range f.TypedConfig.RouteConfig.VirtualHosts {
				for _, r := range vh.Routes {
					if r.Match.Prefix == "" || r.Route.Cluster == "" {
						continue
					}
					proxy, err := clusterProxy(b, r.Route.Cluster)
					if err != nil {
						return nil, errors.New("bootstrap listener " + l.Name + ": " + err.Error())
					}
					routes = append(routes, prefixRoute{r.Match.Prefix, proxy})
				}
			}
		}
	}
	if len(routes) == 0 {
		return nil, nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for _, r := range routes {
			if strings.HasPrefix(req.URL.Path, r.prefix) {
				r.proxy.ServeHTTP(w, req)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
	}), nil
}

func clusterProxy(b *bootstrap, name string) (*httputil.ReverseProxy, error) {
	a, err := b.cluster(name)
	if err != nil {
		return nil, err
	}
	hostPort, err := a.hostPort()
	if err != nil {
		return nil, errors.New("cluster " + name + ": " + err.Error())
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: hostPort})
	// Envoy answers 503 when the upstream cannot be reached.
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, "upstream connect error: "+err.Error(), http.StatusServiceUnavailable)
	}
	return proxy, nil
}

func listenAndServe(ctx context.Context, addr string, handler http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
