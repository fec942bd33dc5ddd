/** One-line, bounded renderings of (possibly hostile) header values for error messages. */

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A quoted, escaped, length-capped name: hostile names must not break the one-line message. */
export function q(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

export function oneLine(s: string | undefined): string {
  const t = String(s).replace(/\s+/g, " ");
  return t.length > 120 ? `${t.slice(0, 120)}…` : t;
}

export function fmtShape(shape: readonly unknown[]): string {
  return oneLine(`[${shape.join(",")}]`);
}

/** Offsets are known to be a 2-element array when this is called. */
export function fmtOffsets(offsets: unknown): string {
  const [a, b] = offsets as unknown[];
  return `[${show(a)}, ${show(b)}]`;
}

/**
 * A short rendering of a JSON value for messages. Never JSON.stringify a whole hostile value: a deeply
 * nested array would overflow the stack (JSON.parse itself copes with any depth).
 */
export function show(v: unknown): string {
  if (typeof v === "string") return q(v);
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? "(an array)" : "(an object)";
}
