package main

import (
	"context"
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

const (
	clusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	listenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
)

// updateStats maps the types the stand-in subscribes to onto the stats that count them.
var updateStats = map[string]string{clusterType: statCDSSuccess, listenerType: statLDSSuccess}

// streamADS subscribes to all clusters and listeners over the bootstrap's ADS cluster, which is
// pilot-agent's XDS proxy; it forwards to istiod with pilot-agent's own credentials, so this
// works without istiod trusting SPIRE's certificates. Each response is acked and counted as an
// accepted update; none is applied, and the EDS and RDS requests Envoy would follow up with
// are not made.
func streamADS(ctx context.Context, b *bootstrap, node *corev3.Node, st *stats) {
	cluster := b.adsCluster()
	path, err := b.pipePath(cluster)
	if err != nil {
		printError(fmt.Errorf("ads: %w", err))
		return
	}
	conn, err := dialPipe(cluster, path)
	if err != nil {
		printError(fmt.Errorf("ads: %w", err))
		return
	}
	defer conn.Close()
	client := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	stream := sotwADS
	if b.deltaADS() {
		stream = deltaADS
	}
	retry(ctx, "ads", func() error { return stream(ctx, client, node, st) })
}

func sotwADS(ctx context.Context, client discoveryv3.AggregatedDiscoveryServiceClient, node *corev3.Node, st *stats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: clusterType}); err != nil {
		return err
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: listenerType}); err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if name, ok := updateStats[resp.GetTypeUrl()]; ok {
			st.countUpdate(name)
		}
		ack := &discoveryv3.DiscoveryRequest{
			TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce(),
		}
		if err := stream.Send(ack); err != nil {
			return err
		}
	}
}

func deltaADS(ctx context.Context, client discoveryv3.AggregatedDiscoveryServiceClient, node *corev3.Node, st *stats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.DeltaAggregatedResources(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: clusterType}); err != nil {
		return err
	}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: listenerType}); err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if name, ok := updateStats[resp.GetTypeUrl()]; ok {
			st.countUpdate(name)
		}
		ack := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()}
		if err := stream.Send(ack); err != nil {
			return err
		}
	}
}
