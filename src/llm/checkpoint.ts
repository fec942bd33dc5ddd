/**
 * Hugging Face Llama checkpoints on disk: `config.json` plus one `model.safetensors` or shards listed in
 * `model.safetensors.index.json`. Opening validates every header against the config (names, shapes, dtypes)
 * but reads no weights; `read(name)` then reads one tensor from its byte range in its shard, so a 7B model
 * streams layer by layer instead of being mapped whole.
 */
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { basename, join } from "node:path";
import { UserError } from "../util/errors.js";
import { readJsonFile } from "../io/json-file.js";
import { fmtShape, q, show } from "../io/format.js";
import { readSafetensorsHeader, type TensorInfo } from "../io/safetensors.js";
import { DTYPE_SIZE, decodeToF32, type Dtype } from "../io/dtype.js";
import { llamaTensorShapes, readLlamaConfig, type LlamaConfig } from "./config.js";

export const INDEX_FILE = "model.safetensors.index.json";
export const SINGLE_FILE = "model.safetensors";

/** dtypes a Llama checkpoint may store its weights in. */
const WEIGHT_DTYPES: readonly Dtype[] = ["BF16", "F16", "F32"];

/** Tensors some checkpoints carry that the forward pass recomputes (old Llama-2 exports store inv_freq). */
const IGNORED = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

interface Located {
  file: string;
  dataStart: number;
  info: TensorInfo;
}

export interface LlamaCheckpoint {
  readonly dir: string;
  readonly config: LlamaConfig;
  /** The shard files (absolute or relative to the cwd, as `dir` was given). */
  readonly files: readonly string[];
  has(name: string): boolean;
  shape(name: string): number[];
  dtype(name: string): Dtype;
  /** The whole tensor as float32, read from disk now (nothing is cached). */
  read(name: string): Float32Array;
  /** Rows `rows` of a 2-D tensor, as float32 [rows.length, cols]: embedding lookups without the whole matrix. */
  readRows(name: string, rows: ArrayLike<number>): Float32Array;
}

/** Opens and validates a checkpoint directory (headers only). */
export function openLlamaCheckpoint(dir: string): LlamaCheckpoint {
  const config = readLlamaConfig(dir);
  const where = locateTensors(dir);
  checkAgainstConfig(dir, config, where);
  const files = [...new Set([...where.values()].map((l) => l.file))];
  const get = (name: string): Located => {
    const l = where.get(name);
    if (!l) throw new UserError(`${dir}: no tensor ${q(name)} in the checkpoint`);
    return l;
  };
  return {
    dir,
    config,
    files,
    has: (name) => where.has(name),
    shape: (name) => [...get(name).info.shape],
    dtype: (name) => get(name).info.dtype,
    read(name) {
      const { file, dataStart, info } = get(name);
      const bytes = new Uint8Array(info.end - info.begin);
      readRange(file, dataStart + info.begin, bytes);
      return decodeToF32(info.dtype, bytes, numel(info.shape), false);
    },
    readRows(name, rows) {
      const { file, dataStart, info } = get(name);
      if (info.shape.length !== 2) throw new RangeError(`readRows: ${name} has shape ${fmtShape(info.shape)}, not 2-D`);
      const [R, C] = info.shape as [number, number];
      const rowBytes = C * DTYPE_SIZE[info.dtype];
      const bytes = new Uint8Array(rows.length * rowBytes);
      const fd = openOrFail(file);
      try {
        for (let i = 0; i < rows.length;) {
          const r = rows[i]!;
          if (!Number.isInteger(r) || r < 0 || r >= R) throw new UserError(`${name}: row ${show(r)} out of range [0, ${R})`);
          let j = i + 1; // runs of consecutive rows (lm_head blocks) are one read
          while (j < rows.length && rows[j] === r + (j - i)) j++;
          readExactly(file, fd, bytes.subarray(i * rowBytes, j * rowBytes), dataStart + info.begin + r * rowBytes);
          i = j;
        }
      } finally {
        closeSync(fd);
      }
      return decodeToF32(info.dtype, bytes, rows.length * C, false); // [rows.length, C]
    },
  };
}

/** Name → (shard, header entry) for the single-file or sharded layout. */
function locateTensors(dir: string): Map<string, Located> {
  const indexPath = join(dir, INDEX_FILE);
  const singlePath = join(dir, SINGLE_FILE);
  const where = new Map<string, Located>();
  if (existsSync(indexPath)) {
    const weightMap = readIndex(indexPath);
    const headers = new Map<string, ReturnType<typeof readSafetensorsHeader>>();
    for (const [name, shard] of weightMap) {
      const file = join(dir, shard);
      let h = headers.get(file);
      if (!h) {
        if (!existsSync(file)) throw new UserError(`${file}: missing (${INDEX_FILE} lists it for tensor ${q(name)})`);
        h = readSafetensorsHeader(file);
        headers.set(file, h);
      }
      const info = h.tensors.get(name);
      if (!info) throw new UserError(`${file}: has no tensor ${q(name)}, which ${INDEX_FILE} places in this shard`);
      where.set(name, { file, dataStart: h.dataStart, info });
    }
    return where;
  }
  if (existsSync(singlePath)) {
    const h = readSafetensorsHeader(singlePath);
    for (const [name, info] of h.tensors) where.set(name, { file: singlePath, dataStart: h.dataStart, info });
    return where;
  }
  const bin = existsSync(join(dir, "pytorch_model.bin")) || existsSync(join(dir, "pytorch_model.bin.index.json"));
  throw new UserError(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE}${bin ? " (PyTorch .bin checkpoints are not supported; convert to safetensors)" : ""}`);
}

/** Parses the index's weight_map (tensor name → shard file name in the same directory). */
function readIndex(path: string): Map<string, string> {
  const raw = readJsonFile(path);
  const wm = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== "object" || wm === null || Array.isArray(wm)) throw new UserError(`${path}: expected an object with a "weight_map" object`);
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm)) {
    // Shards must sit beside the index: a path would let a downloaded index read arbitrary files.
    if (typeof shard !== "string" || shard === "" || basename(shard) !== shard || shard === "..") {
      throw new UserError(`${path}: weight_map[${q(name)}] is ${show(shard)}, expected a shard file name in the same directory`);
    }
    out.set(name, shard);
  }
  return out;
}

function checkAgainstConfig(dir: string, cfg: LlamaConfig, where: Map<string, Located>): void {
  const expected = llamaTensorShapes(cfg);
  for (const [name, shape] of expected) {
    const l = where.get(name);
    if (!l) throw new UserError(`${dir}: missing tensor ${q(name)} (expected shape ${fmtShape(shape)} from config.json)`);
    checkEntry(name, l, shape);
  }
  for (const [name, l] of where) {
    if (expected.has(name) || IGNORED.test(name)) continue;
    // Tied checkpoints sometimes store lm_head anyway; the forward pass uses the embedding, as HF does.
    if (name === "lm_head.weight" && cfg.tieWordEmbeddings) {
      checkEntry(name, l, [cfg.vocabSize, cfg.hiddenSize]);
      continue;
    }
    throw new UserError(`${l.file}: unexpected tensor ${q(name)} (not part of a ${cfg.numLayers}-layer Llama per config.json)`);
  }
}

function checkEntry(name: string, l: Located, shape: readonly number[]): void {
  const { dtype, shape: got } = l.info;
  if (!WEIGHT_DTYPES.includes(dtype)) throw new UserError(`${l.file}: tensor ${q(name)} has dtype ${dtype}, expected one of ${WEIGHT_DTYPES.join(", ")}`);
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new UserError(`${l.file}: tensor ${q(name)} has shape ${fmtShape(got)}, expected ${fmtShape(shape)} from config.json`);
  }
}

// ---------------------------------------------------------------- file access

function openOrFail(file: string): number {
  try {
    return openSync(file, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UserError(`${file}: cannot open (${code === "ENOENT" ? "no such file" : code})`);
  }
}

/** Fills `buf` from `position`, opening the file only for this read (no descriptors outlive a call). */
function readRange(file: string, position: number, buf: Uint8Array): void {
  const fd = openOrFail(file);
  try {
    readExactly(file, fd, buf, position);
  } finally {
    closeSync(fd);
  }
}

/** readSync moves at most ~2 GiB per call, so large tensors are read in 1 GiB pieces. */
const MAX_READ = 1 << 30;

function readExactly(file: string, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.byteLength) {
    const got = readSync(fd, buf, done, Math.min(MAX_READ, buf.byteLength - done), position + done);
    if (got === 0) throw new UserError(`${file}: file ended early while reading (truncated or changed since it was opened?)`);
    done += got;
  }
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
