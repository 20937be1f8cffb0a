/** The package ships no types; this is the one function the checker calls. */
declare module 'js-hcl-parser' {
  /** HCL (v1, SPIRE's dialect) to indented JSON text; on a syntax error, the error message instead. */
  export function parse(text: string): string;
}
