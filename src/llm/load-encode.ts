/**
 * Writing half-precision safetensors, the way Hugging Face checkpoints store Llama weights. src/io writes F32
 * only (the engine's type); tests and tools that make small Llama checkpoints need BF16 and F16 too. Values are
 * rounded to nearest, ties to even, as torch's `.to(torch.bfloat16 / float16)` does.
 */
import { UserError } from "../util/errors.js";
import { withAtomicFile, writeAll } from "../io/atomic.js";
import { f32Bytes, HOST_LE } from "../io/dtype.js";

export type WeightDtype = "BF16" | "F16" | "F32";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits (round to nearest even; NaN stays a quiet NaN). */
export function f32ToBf16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) {
    const b = bits[i]!;
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** float32 → IEEE half bits (round to nearest even, overflow to ±inf, gradual underflow to subnormals). */
export function f32ToF16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = halfBits(x[i]!);
  return out;
}

function halfBits(v: number): number {
  f32[0] = v;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man !== 0 ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    man |= 0x800000; // the implicit bit, now explicit
    const shift = 14 - e; // 24-bit significand → units of 2^-24
    let h = man >>> shift;
    const rem = man & ((1 << shift) - 1), halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++; // a carry into the exponent is still right
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach ±inf, which is right
  return sign | h;
}

/** Little-endian bytes of `data` stored as `dtype`. */
export function encodeAs(data: Float32Array, dtype: WeightDtype): Uint8Array {
  if (dtype === "F32") return f32Bytes(data);
  const h = dtype === "BF16" ? f32ToBf16(data) : f32ToF16(data);
  if (!HOST_LE) for (let i = 0; i < h.length; i++) h[i] = ((h[i]! & 0xff) << 8) | (h[i]! >>> 8);
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

export interface TypedTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** Writes `tensors` (in the given order) as one safetensors file in `dtype`, atomically. Returns the data bytes. */
export function writeSafetensorsAs(path: string, tensors: ReadonlyMap<string, TypedTensor>, dtype: WeightDtype, metadata?: Record<string, string>): number {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new UserError(`tensor "${name}": shape [${t.shape.join(", ")}] needs ${n} values, data has ${t.data.length}`);
    const bytes = encodeAs(t.data, dtype);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [off, off + bytes.byteLength] };
    blobs.push(bytes);
    off += bytes.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.byteLength) / 8) * 8 - 8; // data starts 8-aligned
  const prefix = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  withAtomicFile(path, (fd) => {
    writeAll(fd, prefix);
    for (const b of blobs) writeAll(fd, b);
  });
  return off;
}
