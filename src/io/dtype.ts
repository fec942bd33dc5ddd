/**
 * safetensors dtypes and their conversion to Float32Array. The engine is float32 throughout, so every
 * dtype we can read becomes a Float32Array: F16 and BF16 exactly, F64 rounded to nearest float32, and
 * integers/bools by value (integers beyond 2^24 lose precision, which is fine for the token ids and
 * counters we store; nothing here needs exact 64-bit integers).
 */

/** dtypes we can decode, with their size in bytes. */
export const DTYPE_SIZE = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1,
} as const;

export type Dtype = keyof typeof DTYPE_SIZE;

/** Known to the format but not decodable here (reported as "unsupported", not "unknown"). */
const KNOWN_UNSUPPORTED = new Set(["F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64", "C128"]);

export function isDtype(s: string): s is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

export function isKnownUnsupported(s: string): boolean {
  return KNOWN_UNSUPPORTED.has(s);
}

/** True on little-endian hosts, where typed-array views read the file's bytes directly. */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | undefined;

/** All 65,536 half-precision values, built once on first use (a lookup beats bit twiddling per element). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0) t[h] = sign * man * 2 ** -24; // zero and subnormals
    else if (exp === 31) t[h] = man === 0 ? sign * Infinity : NaN;
    else t[h] = sign * (1 + man / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/**
 * Decodes `n` little-endian elements of `dtype` from `bytes` (exactly n × size bytes) into a new or
 * shared Float32Array. For F32 on a little-endian host with 4-byte-aligned bytes the result is a view
 * on `bytes` (no copy) unless `copy` is set.
 */
export function decodeToF32(dtype: Dtype, bytes: Uint8Array, n: number, copy: boolean): Float32Array {
  const size = DTYPE_SIZE[dtype];
  if (!HOST_LE) return decodeWithDataView(dtype, bytes, n);
  // Typed-array views need offsets aligned to the element size; slice() copies to a fresh buffer at 0.
  const src = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = src;
  switch (dtype) {
    case "F32": {
      const view = new Float32Array(buffer, byteOffset, n);
      return copy && src === bytes ? view.slice() : view;
    }
    case "F64": return Float32Array.from(new Float64Array(buffer, byteOffset, n));
    case "F16": {
      const t = halfTable();
      const h = new Uint16Array(buffer, byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = t[h[i]!]!;
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32: shift into place and reinterpret.
      const h = new Uint16Array(buffer, byteOffset, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = h[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case "I64": return fromBig(new BigInt64Array(buffer, byteOffset, n));
    case "U64": return fromBig(new BigUint64Array(buffer, byteOffset, n));
    case "I32": return Float32Array.from(new Int32Array(buffer, byteOffset, n));
    case "U32": return Float32Array.from(new Uint32Array(buffer, byteOffset, n));
    case "I16": return Float32Array.from(new Int16Array(buffer, byteOffset, n));
    case "U16": return Float32Array.from(new Uint16Array(buffer, byteOffset, n));
    case "I8": return Float32Array.from(new Int8Array(buffer, byteOffset, n));
    case "U8": return Float32Array.from(new Uint8Array(buffer, byteOffset, n));
    case "BOOL": return Float32Array.from(new Uint8Array(buffer, byteOffset, n), (v) => (v ? 1 : 0));
  }
}

function fromBig(a: BigInt64Array | BigUint64Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number(a[i]!);
  return out;
}

/** Slow path for big-endian hosts: read each element explicitly as little-endian. */
function decodeWithDataView(dtype: Dtype, bytes: Uint8Array, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  const t = dtype === "F16" ? halfTable() : undefined;
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case "F64": out[i] = dv.getFloat64(8 * i, true); break;
      case "F32": out[i] = dv.getFloat32(4 * i, true); break;
      case "F16": out[i] = t![dv.getUint16(2 * i, true)]!; break;
      case "BF16": {
        const tmp = new DataView(new ArrayBuffer(4));
        tmp.setUint32(0, dv.getUint16(2 * i, true) << 16);
        out[i] = tmp.getFloat32(0);
        break;
      }
      case "I64": out[i] = Number(dv.getBigInt64(8 * i, true)); break;
      case "U64": out[i] = Number(dv.getBigUint64(8 * i, true)); break;
      case "I32": out[i] = dv.getInt32(4 * i, true); break;
      case "U32": out[i] = dv.getUint32(4 * i, true); break;
      case "I16": out[i] = dv.getInt16(2 * i, true); break;
      case "U16": out[i] = dv.getUint16(2 * i, true); break;
      case "I8": out[i] = dv.getInt8(i); break;
      case "U8": out[i] = dv.getUint8(i); break;
      case "BOOL": out[i] = dv.getUint8(i) ? 1 : 0; break;
    }
  }
  return out;
}

/** Bytes of `data` in little-endian order, for writing F32 (a view when the host is little-endian). */
export function f32Bytes(data: Float32Array): Uint8Array {
  if (HOST_LE) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i]!, true);
  return out;
}
