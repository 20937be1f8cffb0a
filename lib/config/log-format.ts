/** How a SPIRE component writes its log lines (`log_format`). */
export enum LogFormat {
  /** Human-readable lines, SPIRE's default. */
  TEXT = 'text',
  /** One JSON object per line, for log pipelines that parse fields. */
  JSON = 'json',
}
