import { Problem } from '../validation/rules';

/** Where a Prometheus `/metrics` endpoint listens. */
export interface PrometheusEndpoint {
  /** Address the endpoint binds. */
  readonly host: string;
  /** Port the endpoint binds. */
  readonly port: number;
}

/** Settings of a Prometheus endpoint. */
export interface PrometheusOptions {
  /** Port of the `/metrics` endpoint. @default 9988 */
  readonly port?: number;
  /**
   * Address the endpoint binds. SPIRE's own default, `localhost`, answers only
   * inside the pod, so a scraper reaching the pod IP needs every address.
   * @default "0.0.0.0"
   */
  readonly host?: string;
}

/** What a scraper needs to find a component's metrics: its pods and the container ports serving them. */
export interface MetricsTarget {
  /** Name of the component's workload; what scrapes it is named after it. */
  readonly name: string;
  /** Namespace of the pods. */
  readonly namespace: string;
  /** Labels every pod of the component carries. */
  readonly podLabels: { [key: string]: string };
  /** Names of the container ports serving `/metrics`; empty when metrics are off. */
  readonly portNames: string[];
}

/** The path SPIRE and the controller manager serve metrics on. */
export const METRICS_PATH = '/metrics';

/** Whether and where a SPIRE component serves Prometheus metrics. */
export class Metrics {
  /** A Prometheus `/metrics` endpoint on a container port of its own. */
  public static prometheus(options: PrometheusOptions = {}): Metrics {
    return new Metrics({ host: options.host ?? '0.0.0.0', port: options.port ?? 9988 });
  }

  /** No metrics endpoint. */
  public static disabled(): Metrics {
    return new Metrics();
  }

  /** @param endpoint the Prometheus endpoint; undefined when metrics are off */
  private constructor(public readonly endpoint?: PrometheusEndpoint) {}
}

/** The endpoint's host is an address or a name without a port, as SPIRE joins it with `port`. */
export function checkMetricsHost(value: string): Problem | undefined {
  if (/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)) return undefined;
  return { value, rule: 'the metrics host is an IPv4 address or a host name, without a port', fix: 'use "0.0.0.0" to answer on the pod IP, or "localhost"' };
}
