import * as kplus from 'cdk8s-plus-27';
import { checkDogStatsdHost, checkMetricsHost, Metrics, METRICS_PATH, PrometheusEndpoint } from '../config/metrics';
import { checkPort, Problem } from '../validation/rules';
import { Check } from '../validation/validate';

/** The pod annotations most Prometheus scrape configs (and many agents) read by convention. */
export const SCRAPE_ANNOTATIONS = {
  scrape: 'prometheus.io/scrape',
  port: 'prometheus.io/port',
  path: 'prometheus.io/path',
} as const;

/**
 * A container's ports and, when metrics are on, the port serving them, named
 * for scrapers. A number the container's ports hold already is left out:
 * cdk8s-plus would throw without naming the construct, and the synth check of
 * the metrics port reports it with the fix.
 */
export function withMetricsPort(ports: kplus.ContainerPort[], name: string, endpoint: PrometheusEndpoint | undefined): kplus.ContainerPort[] {
  if (endpoint === undefined || ports.some((port) => port.number === endpoint.port)) return ports;
  return [...ports, { name, number: endpoint.port }];
}

/** Marks the pod template for annotation-driven scraping of the endpoint, when there is one. */
export function annotateScrape(workload: kplus.Workload, endpoint: PrometheusEndpoint | undefined): void {
  if (endpoint === undefined) return;
  workload.podMetadata.addAnnotation(SCRAPE_ANNOTATIONS.scrape, 'true');
  workload.podMetadata.addAnnotation(SCRAPE_ANNOTATIONS.port, String(endpoint.port));
  workload.podMetadata.addAnnotation(SCRAPE_ANNOTATIONS.path, METRICS_PATH);
}

/** Container ports share the pod's network namespace: no other port of the pod may bind the metrics port. */
function checkMetricsPortFree(workload: kplus.Workload, name: string, endpoint: PrometheusEndpoint): Problem | undefined {
  const others = workload.containers.flatMap((container) => container.ports).filter((port) => port.number === endpoint.port && port.name !== name);
  if (others.length === 0) return undefined;
  return {
    value: String(endpoint.port),
    rule: `the pod's container port ${others.map((port) => port.name).join(', ')} binds it already`,
    fix: 'give the metrics endpoint a port no other container port of the pod uses',
  };
}

/** The checks of a metrics endpoint served on the workload's container port of that name, and of the DogStatsd server. */
export function metricsChecks(metrics: Metrics, workload: kplus.Workload, portName: string): Check[] {
  const endpoint = metrics.endpoint;
  const dogStatsd = metrics.dogStatsdSink;
  return [
    ...(endpoint === undefined ? [] : [
      ['metrics.port', checkPort(endpoint.port) ?? checkMetricsPortFree(workload, portName, endpoint)],
      ['metrics.host', checkMetricsHost(endpoint.host)],
    ] satisfies Check[]),
    ...(dogStatsd === undefined ? [] : [
      ['metrics.dogStatsd.address', checkDogStatsdHost(dogStatsd.host)],
      ['metrics.dogStatsd.port', checkPort(dogStatsd.port)],
    ] satisfies Check[]),
  ];
}

