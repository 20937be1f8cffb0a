import { requireProps } from '../validation/required';
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

/** Where SPIRE sends its metrics over DogStatsd (UDP), e.g. a Datadog agent's Service. */
export interface DogStatsdOptions {
  /** Host name or IPv4 address of the DogStatsd server, without a port, e.g. `datadog.datadog.svc`. */
  readonly address: string;
  /** UDP port of the DogStatsd server. @default 8125 */
  readonly port?: number;
}

/** A DogStatsd server SPIRE sends metrics to. */
export interface DogStatsdSink {
  readonly host: string;
  readonly port: number;
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

  /**
   * Metrics pushed to a DogStatsd server (SPIRE's `DogStatsd` sink), with no
   * endpoint of its own: no container port and no scrape annotations. The
   * controller manager serves Prometheus only, so it has no metrics then.
   */
  public static dogStatsd(options: DogStatsdOptions): Metrics {
    return new Metrics(undefined, dogStatsdSink(options));
  }

  /** No metrics endpoint. */
  public static disabled(): Metrics {
    return new Metrics();
  }

  /**
   * @param endpoint the Prometheus endpoint; undefined when Prometheus is off
   * @param dogStatsdSink the DogStatsd server metrics are sent to; undefined when none
   */
  private constructor(public readonly endpoint?: PrometheusEndpoint, public readonly dogStatsdSink?: DogStatsdSink) {}

  /** These metrics, also sent to a DogStatsd server, e.g. `Metrics.prometheus().withDogStatsd({ address })`. */
  public withDogStatsd(options: DogStatsdOptions): Metrics {
    return new Metrics(this.endpoint, dogStatsdSink(options));
  }
}

function dogStatsdSink(options: DogStatsdOptions): DogStatsdSink {
  requireProps('Metrics.dogStatsd', options, [['address', 'string', 'the DogStatsd server\'s host, e.g. "datadog.datadog.svc"']]);
  return { host: options.address, port: options.port ?? 8125 };
}

/** The `address` SPIRE's DogStatsd sink dials. */
export function dogStatsdAddress(sink: DogStatsdSink | undefined): string | undefined {
  return sink === undefined ? undefined : `${sink.host}:${sink.port}`;
}

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** The endpoint's host is an address or a name without a port, as SPIRE joins it with `port`. */
export function checkMetricsHost(value: string): Problem | undefined {
  if (HOST.test(value)) return undefined;
  return { value, rule: 'the metrics host is an IPv4 address or a host name, without a port', fix: 'use "0.0.0.0" to answer on the pod IP, or "localhost"' };
}

/** The DogStatsd server is one host to send to, named without a port, which SPIRE appends. */
export function checkDogStatsdHost(value: string): Problem | undefined {
  if (HOST.test(value) && value !== '0.0.0.0') return undefined;
  return {
    value,
    rule: 'the DogStatsd address is the IPv4 address or host name of the server that receives the metrics, without a port',
    fix: 'name the DogStatsd server, e.g. "datadog.datadog.svc", and give its port as `port`',
  };
}
