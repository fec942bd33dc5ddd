/**
 * JSON.parse silently keeps the last of duplicate keys, so two readers of the same safetensors header
 * could disagree about which tensor a name means. This scan finds the first duplicate key in any object
 * of a text that is already known to be valid JSON (call it after JSON.parse succeeds), so it only has
 * to track strings and nesting, not the full grammar.
 */

interface Frame {
  keys: Set<string> | null; // null for arrays
  expectKey: boolean;
}

/** Returns the first key that appears twice in one object (decoded, so "a" and "\u0061" collide), or null. */
export function findDuplicateKey(text: string): string | null {
  const stack: Frame[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i, end);
        // Decode escapes only when present: JSON.parse of a quoted string is the exact JSON decoding.
        const key = raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = end;
      continue;
    }
    if (c === 0x7b /* { */) stack.push({ keys: new Set(), expectKey: true });
    else if (c === 0x5b /* [ */) stack.push({ keys: null, expectKey: false });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
    i++;
  }
  return null;
}

/** Index just past the closing quote of the string starting at `start` (valid JSON assumed). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i += 2;
    else if (c === 0x22 || Number.isNaN(c)) return i + 1;
    else i++;
  }
}
