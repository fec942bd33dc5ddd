/** Builders of raw (possibly malformed) safetensors bytes for the reader tests and the fuzzer. */
import { Rng } from "../../src/engine/rng.js";

/** 8-byte little-endian length + header text (as given, no padding) + data buffer. */
export function rawFile(header: string | object, data: Uint8Array | number = 0, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const buf = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + buf.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(buf, 8 + json.byteLength);
  return out;
}

/** Little-endian bytes of 16-bit words (for F16/BF16 fixtures). */
export function u16le(words: number[]): Uint8Array {
  const out = new Uint8Array(2 * words.length);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint16(2 * i, w, true));
  return out;
}

/** Seeded uniform stream (the engine's xoshiro128**): reproducible fuzzing without a dependency. */
export function seededUniform(seed: number): () => number {
  const r = new Rng(seed, 7);
  return () => r.uniform();
}
