package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"
)

// The static clusters of Istio's bootstrap template (tools/packaging/common/envoy_bootstrap.json).
const (
	sdsCluster = "sds-grpc"
	xdsCluster = "xds-grpc"
)

// userAgent names this program, not Envoy, in the node it sends. SPIRE's SDS handler then
// takes its default for an unknown client, the SPIFFE certificate validator, which is also
// what it chooses for the Envoy releases Istio ships (1.18 and later).
const userAgent = "envoy-stand-in"

// bootstrap holds the few fields of Envoy's bootstrap the stand-in reads; the rest, including
// typed extension configs whose types it does not know, is left unparsed.
type bootstrap struct {
	Node struct {
		ID       string          `json:"id"`
		Cluster  string          `json:"cluster"`
		Locality json.RawMessage `json:"locality"`
		Metadata json.RawMessage `json:"metadata"`
	} `json:"node"`
	Admin struct {
		Address address `json:"address"`
	} `json:"admin"`
	DynamicResources struct {
		AdsConfig struct {
			APIType      string `json:"api_type"`
			GrpcServices []struct {
				EnvoyGrpc struct {
					ClusterName string `json:"cluster_name"`
				} `json:"envoy_grpc"`
			} `json:"grpc_services"`
		} `json:"ads_config"`
	} `json:"dynamic_resources"`
	StaticResources struct {
		Clusters  []cluster  `json:"clusters"`
		Listeners []listener `json:"listeners"`
	} `json:"static_resources"`
}

type address struct {
	SocketAddress *struct {
		Address   string `json:"address"`
		PortValue int    `json:"port_value"`
	} `json:"socket_address"`
	Pipe *struct {
		Path string `json:"path"`
	} `json:"pipe"`
}

type cluster struct {
	Name           string `json:"name"`
	LoadAssignment struct {
		Endpoints []struct {
			LbEndpoints []struct {
				Endpoint struct {
					Address address `json:"address"`
				} `json:"endpoint"`
			} `json:"lb_endpoints"`
		} `json:"endpoints"`
	} `json:"load_assignment"`
}

type listener struct {
	Name         string  `json:"name"`
	Address      address `json:"address"`
	FilterChains []struct {
		Filters []struct {
			TypedConfig struct {
				RouteConfig struct {
					VirtualHosts []struct {
						Routes []route `json:"routes"`
					} `json:"virtual_hosts"`
				} `json:"route_config"`
			} `json:"typed_config"`
		} `json:"filters"`
	} `json:"filter_chains"`
}

type route struct {
	Match struct {
		Prefix string `json:"prefix"`
	} `json:"match"`
	Route struct {
		Cluster string `json:"cluster"`
	} `json:"route"`
}

// loadBootstrap reads the file as YAML, of which JSON is a subset: pilot-agent writes
// envoy-rev.json from its JSON template, or envoy-rev.yaml from a custom YAML one.
func loadBootstrap(path string) (*bootstrap, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", path, err)
	}
	var b bootstrap
	if err := json.Unmarshal(js, &b); err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", path, err)
	}
	return &b, nil
}

// envoyNode is the node Envoy sends on the first request of each xDS stream.
func (b *bootstrap) envoyNode() (*corev3.Node, error) {
	node := &corev3.Node{Id: b.Node.ID, Cluster: b.Node.Cluster, UserAgentName: userAgent}
	if len(b.Node.Metadata) > 0 {
		node.Metadata = &structpb.Struct{}
		if err := protojson.Unmarshal(b.Node.Metadata, node.Metadata); err != nil {
			return nil, fmt.Errorf("bootstrap node.metadata: %w", err)
		}
	}
	if len(b.Node.Locality) > 0 {
		node.Locality = &corev3.Locality{}
		if err := protojson.Unmarshal(b.Node.Locality, node.Locality); err != nil {
			return nil, fmt.Errorf("bootstrap node.locality: %w", err)
		}
	}
	return node, nil
}

func (b *bootstrap) cluster(name string) (*address, error) {
	for _, c := range b.StaticResources.Clusters {
		if c.Name != name {
			continue
		}
		for _, e := range c.LoadAssignment.Endpoints {
			for _, lb := range e.LbEndpoints {
				return &lb.Endpoint.Address, nil
			}
		}
		return nil, fmt.Errorf("bootstrap cluster %s has no endpoint", name)
	}
	return nil, fmt.Errorf("bootstrap has no static cluster %s", name)
}

// pipePath is the unix socket of a static cluster, as written: Envoy, like net.Dial, resolves
// a relative path against its working directory.
func (b *bootstrap) pipePath(clusterName string) (string, error) {
	a, err := b.cluster(clusterName)
	if err != nil {
		return "", err
	}
	if a.Pipe == nil || a.Pipe.Path == "" {
		return "", fmt.Errorf("bootstrap cluster %s is not a pipe", clusterName)
	}
	return a.Pipe.Path, nil
}

func (b *bootstrap) adsCluster() string {
	for _, s := range b.DynamicResources.AdsConfig.GrpcServices {
		return s.EnvoyGrpc.ClusterName
	}
	return xdsCluster
}

func (b *bootstrap) deltaADS() bool {
	return b.DynamicResources.AdsConfig.APIType == "DELTA_GRPC"
}

func (a *address) hostPort() (string, error) {
	if a.SocketAddress == nil {
		return "", fmt.Errorf("not a socket address")
	}
	return net.JoinHostPort(a.SocketAddress.Address, strconv.Itoa(a.SocketAddress.PortValue)), nil
}
