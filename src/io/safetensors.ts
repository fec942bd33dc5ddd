/**
 * safetensors checkpoints (https://github.com/huggingface/safetensors format): 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets}, __metadata__?}`, then one
 * byte buffer that the tensors tile exactly.
 *
 * We write F32 only (the engine's type). We read every plain dtype and return Float32Array data (see
 * dtype.ts). Files come from users and the internet, so the reader validates everything before it
 * allocates or indexes anything and reports each problem as a one-line UserError naming the file.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { withAtomicFile, writeAll } from "./atomic.js";
import { DTYPE_SIZE, type Dtype, decodeToF32, f32Bytes, isDtype, isKnownUnsupported } from "./dtype.js";
import { findDuplicateKey } from "./json-dupes.js";
import { fmtOffsets, fmtShape, oneLine, q, show, typeName } from "./format.js";

export type { Dtype } from "./dtype.js";

/** What the writer takes: float32 data in row-major order. `dtype`, if given, must be "F32". */
export interface TensorF32 {
  dtype?: "F32";
  shape: readonly number[];
  data: Float32Array;
}

/** What the reader returns: the dtype on disk, and the values as float32. */
export interface LoadedTensor {
  dtype: Dtype;
  shape: number[];
  data: Float32Array;
}

/** One header entry; `begin`/`end` are byte offsets into the data buffer (not the file). */
export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** File offset of the data buffer (8 + header length). */
  dataStart: number;
}

export interface ReadOptions {
  /** Name used in error messages when reading from memory (default "<buffer>"). */
  name?: string;
  /**
   * From memory only: F32 tensors at aligned offsets are views on the input (no copy) unless this is
   * true. Tensors read from a path always own their memory.
   */
  copy?: boolean;
}

/** Same cap as the reference implementation: a larger header is hostile or broken. */
export const MAX_HEADER_BYTES = 100_000_000;

// ---------------------------------------------------------------- writing

/** Encodes tensors (sorted by name, contiguous, little-endian) into one in-memory file. */
export function encodeSafetensors(tensors: Record<string, TensorF32>, metadata?: Record<string, string>): Uint8Array {
  const { header, order } = buildHeader(tensors, metadata);
  let total = header.byteLength;
  for (const name of order) total += tensors[name]!.data.byteLength;
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.byteLength;
  for (const name of order) {
    const bytes = f32Bytes(tensors[name]!.data);
    out.set(bytes, pos);
    pos += bytes.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file atomically (temp file + fsync + rename), streaming each tensor's bytes so
 * a large model is not copied into one big buffer first. The header is built (and the input checked)
 * before the file system is touched, so bad input never disturbs an existing file.
 */
export function writeSafetensors(path: string, tensors: Record<string, TensorF32>, metadata?: Record<string, string>): void {
  const { header, order } = buildHeader(tensors, metadata);
  withAtomicFile(path, (fd) => {
    writeAll(fd, header);
    for (const name of order) writeAll(fd, f32Bytes(tensors[name]!.data));
  });
}

/** Prefix (8-byte length + space-padded JSON) and the tensor order. Throws on malformed input (a bug). */
function buildHeader(tensors: Record<string, TensorF32>, metadata?: Record<string, string>) {
  const order = Object.keys(tensors).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Built by hand, not JSON.stringify(object): objects put integer-like keys ("0", "1") first.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`safetensors metadata "${k}" must be a string (JSON-stringify it)`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const name of order) {
    const t = tensors[name]!;
    if (name === "__metadata__") throw new TypeError(`"__metadata__" cannot be a tensor name`);
    if (t.dtype !== undefined && t.dtype !== "F32") throw new TypeError(`tensor "${name}": only F32 can be written, got ${String(t.dtype)}`);
    if (!(t.data instanceof Float32Array)) throw new TypeError(`tensor "${name}": data must be a Float32Array`);
    let numel = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`tensor "${name}": bad shape ${fmtShape(t.shape)}`);
      numel *= d;
    }
    if (numel !== t.data.length) {
      throw new RangeError(`tensor "${name}": shape ${fmtShape(t.shape)} needs ${numel} values, data has ${t.data.length}`);
    }
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  // Pad with spaces so 8 + N is a multiple of 8: the data buffer then starts 8-aligned and every F32
  // tensor can be viewed in place by a reader that has the whole file in memory.
  const n = Math.ceil((8 + json.byteLength) / 8) * 8 - 8;
  const header = new Uint8Array(8 + n).fill(0x20, 8 + json.byteLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(json, 8);
  return { header, order };
}

// ---------------------------------------------------------------- reading

/** Reads and validates a whole file (or in-memory bytes). Every tensor is returned as float32. */
export function readSafetensors(src: string | Uint8Array, opts: ReadOptions = {}): { tensors: Map<string, LoadedTensor>; metadata: Record<string, string> } {
  if (typeof src === "string") {
    return withFile(src, (fd, size) => {
      const h = headerFromFd(src, fd, size);
      // Each tensor gets its own buffer: always aligned, and no 2 GiB single-buffer limit for big files.
      return load(h, (info) => {
        const bytes = new Uint8Array(info.end - info.begin);
        readExactly(src, fd, bytes, h.dataStart + info.begin);
        return decodeToF32(info.dtype, bytes, numelOf(info.shape), false);
      });
    });
  }
  const h = headerFromBytes(opts.name ?? "<buffer>", src);
  const bytes = (info: TensorInfo) => src.subarray(h.dataStart + info.begin, h.dataStart + info.end);
  return load(h, (info) => decodeToF32(info.dtype, bytes(info), numelOf(info.shape), opts.copy ?? false));
}

function load(h: SafetensorsHeader, data: (info: TensorInfo) => Float32Array) {
  const tensors = new Map<string, LoadedTensor>();
  for (const [name, info] of h.tensors) tensors.set(name, { dtype: info.dtype, shape: info.shape, data: data(info) });
  return { tensors, metadata: h.metadata };
}

/** Reads and validates only the header (names, dtypes, shapes, offsets, metadata): cheap `inspect`. */
export function readSafetensorsHeader(src: string | Uint8Array, opts: ReadOptions = {}): SafetensorsHeader {
  if (typeof src !== "string") return headerFromBytes(opts.name ?? "<buffer>", src);
  return withFile(src, (fd, size) => headerFromFd(src, fd, size));
}

function headerFromBytes(file: string, bytes: Uint8Array): SafetensorsHeader {
  const n = headerLength(file, bytes.subarray(0, 8), bytes.byteLength);
  return parseHeader(file, bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n);
}

function headerFromFd(file: string, fd: number, size: number): SafetensorsHeader {
  const prefix = new Uint8Array(Math.min(8, size));
  readExactly(file, fd, prefix, 0);
  const n = headerLength(file, prefix, size);
  const json = new Uint8Array(n);
  readExactly(file, fd, json, 8);
  return parseHeader(file, json, size - 8 - n);
}

/** Validates the 8-byte prefix against the file size and returns N. */
function headerLength(file: string, prefix: Uint8Array, size: number): number {
  if (size < 8) fail(file, `file is ${size} bytes, shorter than the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + Number(n) > size) fail(file, `header length ${n} runs past the end of the file (${size} bytes)`);
  return Number(n);
}

/** Decodes and validates the JSON header; `bufferLength` is the size of the data buffer after it. */
function parseHeader(file: string, json: Uint8Array, bufferLength: number): SafetensorsHeader {
  if (json.byteLength === 0 || json[0] !== 0x7b) fail(file, `header does not start with "{"`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(json);
  } catch {
    fail(file, "header is not valid UTF-8");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(file, `header is not valid JSON (${oneLine((e as Error).message)})`);
  }
  if (!isPlainObject(raw)) fail(file, "header is not a JSON object");
  const dup = findDuplicateKey(text);
  if (dup !== null) fail(file, `header has duplicate key ${q(dup)}`);

  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw)) {
    if (name === "__metadata__") metadata = parseMetadata(file, entry);
    else tensors.set(name, parseEntry(file, name, entry, bufferLength));
  }
  checkCoverage(file, tensors, bufferLength);
  return { tensors, metadata, dataStart: 8 + json.byteLength };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (!isPlainObject(entry)) fail(file, `__metadata__ is not a JSON object of strings`);
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== "string") fail(file, `__metadata__ ${q(k)} is ${typeName(v)}, not a string`);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data instead of setting a prototype.
  return Object.fromEntries(Object.entries(entry as Record<string, string>));
}

function parseEntry(file: string, name: string, entry: unknown, bufferLength: number): TensorInfo {
  const t = `tensor ${q(name)}`;
  if (!isPlainObject(entry)) fail(file, `${t} is ${typeName(entry)}, not an object`);
  // Unknown extra fields are ignored, as the reference implementation does.
  const { dtype, shape, data_offsets: offsets } = entry;
  if (dtype === undefined) fail(file, `${t} has no dtype`);
  if (typeof dtype !== "string") fail(file, `${t} dtype is ${typeName(dtype)}, not a string`);
  if (!isDtype(dtype)) fail(file, `${t} has ${isKnownUnsupported(dtype) ? "unsupported" : "unknown"} dtype ${q(dtype)}`);
  if (shape === undefined) fail(file, `${t} has no shape`);
  if (!Array.isArray(shape)) fail(file, `${t} shape is ${typeName(shape)}, not an array`);
  let numel = 1;
  for (const d of shape as unknown[]) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) fail(file, `${t} shape has a bad dimension ${show(d)} (need an integer >= 0)`);
    numel *= d;
    if (numel > Number.MAX_SAFE_INTEGER) fail(file, `${t} shape ${fmtShape(shape as number[])} is too large`);
  }
  if (offsets === undefined) fail(file, `${t} has no data_offsets`);
  if (!Array.isArray(offsets) || offsets.length !== 2) fail(file, `${t} data_offsets must be [begin, end]`);
  const [begin, end] = offsets as unknown[];
  if (!isOffset(begin) || !isOffset(end)) fail(file, `${t} data_offsets ${fmtOffsets(offsets)} are not integers >= 0`);
  if (begin > end) fail(file, `${t} data_offsets ${fmtOffsets(offsets)} end before they begin`);
  if (end > bufferLength) fail(file, `${t} data_offsets ${fmtOffsets(offsets)} run past the ${bufferLength}-byte data buffer`);
  const bytes = numel * DTYPE_SIZE[dtype];
  if (end - begin !== bytes) {
    fail(file, `${t} data_offsets ${fmtOffsets(offsets)} do not match shape ${fmtShape(shape as number[])} × ${dtype} = ${bytes} bytes`);
  }
  return { dtype, shape: (shape as number[]).map((d) => d + 0) /* -0 → 0 */, begin, end };
}

/** The tensors must tile the data buffer exactly: no overlaps, no holes, nothing left over. */
function checkCoverage(file: string, tensors: Map<string, TensorInfo>, bufferLength: number): void {
  const spans = [...tensors].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev = "";
  for (const [name, { begin, end }] of spans) {
    if (begin < pos) fail(file, `tensor ${q(name)} data_offsets [${begin}, ${end}] overlap tensor ${q(prev)}`);
    if (begin > pos) fail(file, `bytes [${pos}, ${begin}) of the data buffer belong to no tensor (a hole before tensor ${q(name)})`);
    pos = end;
    if (end > begin) prev = name; // empty tensors own no bytes, so they cannot be overlapped
  }
  if (pos !== bufferLength) fail(file, `bytes [${pos}, ${bufferLength}) at the end of the data buffer belong to no tensor`);
}

// ---------------------------------------------------------------- checking against a model

/**
 * Checks that a loaded tensor set has exactly the expected names and shapes (e.g. a model's parameters).
 * Throws one UserError naming the first problem and how many more there are.
 */
export function checkTensorSet(
  file: string,
  tensors: ReadonlyMap<string, { shape: readonly number[] }> | Readonly<Record<string, { shape: readonly number[] }>>,
  expected: Readonly<Record<string, readonly number[]>>,
): void {
  const have: ReadonlyMap<string, { shape: readonly number[] }> = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const problems: string[] = [];
  for (const [name, shape] of Object.entries(expected)) {
    const t = have.get(name);
    if (!t) problems.push(`missing tensor ${q(name)} (expected shape ${fmtShape(shape)})`);
    else if (!sameShape(t.shape, shape)) problems.push(`tensor ${q(name)} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`);
  }
  for (const name of have.keys()) {
    if (!Object.prototype.hasOwnProperty.call(expected, name)) problems.push(`unexpected tensor ${q(name)}`);
  }
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : "";
    throw new UserError(`${file}: ${problems[0]}${more}`);
  }
}

// ---------------------------------------------------------------- helpers

function withFile<T>(path: string, body: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UserError(`${path}: cannot open (${code === "ENOENT" ? "no such file" : code})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) fail(path, "not a regular file");
    return body(fd, st.size);
  } finally {
    closeSync(fd);
  }
}

/** Fills `buf` from `position`; a short read means the file changed under us. */
function readExactly(file: string, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.byteLength) {
    const got = readSync(fd, buf, done, buf.byteLength - done, position + done);
    if (got === 0) fail(file, `file ended early while reading (truncated or changed during the read?)`);
    done += got;
  }
}

function fail(file: string, problem: string): never {
  throw new UserError(`${file}: ${problem}`);
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isOffset(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
