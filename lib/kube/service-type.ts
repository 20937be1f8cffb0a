/** How a Service is reached: inside the cluster only, on every node's port, or through a cloud load balancer. */
export enum ServiceType {
  CLUSTER_IP = 'ClusterIP',
  NODE_PORT = 'NodePort',
  LOAD_BALANCER = 'LoadBalancer',
}
