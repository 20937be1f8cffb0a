import { PrometheusEndpoint } from './metrics';

/**
 * Pieces shared by the SPIRE server and agent configuration files. SPIRE reads
 * HCL, and JSON is valid HCL: each plugin section is a list of one-key objects
 * `{ "<plugin name>": { "plugin_data": { ... } } }`.
 */
export type PluginSection = Array<Record<string, { plugin_data: object }>>;

export function plugin(name: string, data: object): PluginSection {
  return [{ [name]: { plugin_data: data } }];
}

/** The `health_checks` block both SPIRE binaries serve for kubelet probes. */
export interface HealthChecks {
  readonly port: number;
  readonly livePath: string;
  readonly readyPath: string;
}

export const DEFAULT_HEALTH_CHECKS: HealthChecks = { port: 8080, livePath: '/live', readyPath: '/ready' };

export function renderHealthChecks(health: HealthChecks): object {
  return {
    listener_enabled: true,
    bind_address: '0.0.0.0',
    bind_port: String(health.port),
    live_path: health.livePath,
    ready_path: health.readyPath,
  };
}

/**
 * The `telemetry` block: SPIRE serves Prometheus metrics at `/metrics` on the
 * endpoint, and sends them to a DogStatsd server at `host:port`.
 */
export function renderTelemetry(prometheus: PrometheusEndpoint | undefined, dogStatsdAddress?: string): object {
  const sinks = {
    ...(prometheus === undefined ? {} : { Prometheus: { host: prometheus.host, port: prometheus.port } }),
    ...(dogStatsdAddress === undefined ? {} : { DogStatsd: [{ address: dogStatsdAddress }] }),
  };
  return Object.keys(sinks).length === 0 ? {} : { telemetry: sinks };
}

/** SPIRE's log levels. */
export enum LogLevel {
  DEBUG = 'DEBUG',
  INFO = 'INFO',
  WARN = 'WARN',
  ERROR = 'ERROR',
}

/** The fields that have a value: unset settings are left out of a config. */
export function definedOnly(fields: { [key: string]: unknown }): { [key: string]: unknown } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** Serializes a config deterministically, the way it lands in a ConfigMap. */
export function renderJson(config: object): string {
  return `${JSON.stringify(config, undefined, 2)}\n`;
}
