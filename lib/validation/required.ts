/** A kind told by what a value has rather than by its class, as for an interface: its name in messages, and the test. */
export interface ShapeKind {
  readonly name: string;
  readonly is: (value: unknown) => boolean;
}

/** What a required prop must be: a JavaScript type, a class of the library, or a shape. */
export type PropKind = 'string' | 'number' | 'boolean' | 'array' | 'object' | Function | ShapeKind;

/** A required prop: its name, what it must be, and what to pass for it. */
export type RequiredProp = [name: string, kind: PropKind, pass: string];

/**
 * Checks at the boundary what TypeScript checks at compile time, for
 * JavaScript and Python callers: each required prop is set and of its kind.
 * Throws at once, naming where (a construct path or a factory), the prop and
 * what to pass, instead of a TypeError deep inside.
 */
export function requireProps(where: string, props: unknown, required: RequiredProp[]): void {
  const given = (typeof props === 'object' && props !== null ? props : {}) as Record<string, unknown>;
  for (const [name, kind, pass] of required) {
    const value = given[name];
    if (value === undefined || value === null) {
      throw new Error(`${where}: the required prop "${name}" is missing. Fix: pass ${pass}.`);
    }
    if (!isKind(value, kind)) {
      throw new Error(`${where}: the prop "${name}" is ${describeValue(value)}, not ${kindName(kind)}. Fix: pass ${pass}.`);
    }
  }
}

function isKind(value: unknown, kind: PropKind): boolean {
  if (kind === 'array') return Array.isArray(value);
  if (typeof kind === 'string') return typeof value === kind;
  if (typeof kind === 'function') return value instanceof kind;
  return kind.is(value);
}

function kindName(kind: PropKind): string {
  if (typeof kind !== 'string') return `a ${kind.name}`;
  return kind === 'array' || kind === 'object' ? `an ${kind}` : `a ${kind}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'a plain object';
  }
  return `the ${typeof value} ${String(value)}`;
}
