package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The stats pilot-agent's readiness probe reads (pilot/cmd/pilot-agent/status/util/stats.go).
const (
	statServerState    = "server.state"
	statWorkersStarted = "listener_manager.workers_started"
	statCDSSuccess     = "cluster_manager.cds.update_success"
	statLDSSuccess     = "listener_manager.lds.update_success"
)

// Envoy's server.state values.
const (
	stateLive         = 0
	stateInitializing = 3
)

type stat struct {
	value   uint64
	counter bool
}

// stats holds only stats that have been set, so every query answers as Envoy's ?usedonly does.
type stats struct {
	mu     sync.Mutex
	values map[string]stat
}

func newStats() *stats {
	return &stats{values: map[string]stat{statServerState: {value: stateInitializing}}}
}

// countUpdate records an xDS response received. Envoy's init manager waits for the first CDS
// and LDS responses (Istio's bootstrap sets no initial fetch timeout) before it starts the
// workers and goes LIVE; so does the stand-in.
func (s *stats) countUpdate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[name] = stat{value: s.values[name].value + 1, counter: true}
	if _, ok := s.values[statCDSSuccess]; !ok {
		return
	}
	if _, ok := s.values[statLDSSuccess]; !ok {
		return
	}
	s.values[statServerState] = stat{value: stateLive}
	s.values[statWorkersStarted] = stat{value: 1}
}

func (s *stats) sortedNames(filter *regexp.Regexp) []string {
	var names []string
	for name := range s.values {
		if filter == nil || filter.MatchString(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// text answers /stats in Envoy's plain format, "name: value" a line.
func (s *stats) text(filter *regexp.Regexp) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, name := range s.sortedNames(filter) {
		fmt.Fprintf(&b, "%s: %d\n", name, s.values[name].value)
	}
	return b.String()
}

// prometheus answers /stats/prometheus, which the bootstrap's prometheus listener routes to
// and pilot-agent merges into its own metrics.
func (s *stats) prometheus() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, name := range s.sortedNames(nil) {
		kind := "gauge"
		if s.values[name].counter {
			kind = "counter"
		}
		metric := "envoy_" + strings.ReplaceAll(name, ".", "_")
		fmt.Fprintf(&b, "# TYPE %s %s\n%s{} %d\n", metric, kind, metric, s.values[name].value)
	}
	return b.String()
}
