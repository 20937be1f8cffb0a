// Stand-ins for the CSI sidecars the SPIFFE CSI driver's pod runs. The module proxy serves no
// release of kubernetes-csi/node-driver-registrar or kubernetes-csi/livenessprobe, so each
// command here takes the upstream flags the manifests pass and does what the kubelet needs of it.
module cdk8s-spire-istio/e2e/tools/csi-sidecars

go 1.25.0

require (
	github.com/container-storage-interface/spec v1.9.0
	google.golang.org/grpc v1.75.0
	k8s.io/kubelet v0.35.3
)

require (
	github.com/golang/protobuf v1.5.4 // indirect
	golang.org/x/net v0.47.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
	golang.org/x/text v0.31.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250707201910-8d1bb00bc6a7 // indirect
	google.golang.org/protobuf v1.36.8 // indirect
)
