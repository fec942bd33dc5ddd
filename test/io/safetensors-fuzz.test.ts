/**
 * Fuzzes the safetensors reader with mutated files. The contract: for *any* bytes it either returns
 * tensors whose data matches their shapes, or throws a one-line UserError. It never throws anything
 * else (RangeError from a typed array, SyntaxError, TypeError…), never hangs.
 *
 * Reproducible: NULLSPACE_FUZZ_SEED (default 20240601) and NULLSPACE_FUZZ_N (default 30000).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/util/errors.js";
import { encodeSafetensors, readSafetensors } from "../../src/io/safetensors.js";
import { seededUniform, rawFile, u16le } from "./st-helpers.js";

const SEED = Number(process.env.NULLSPACE_FUZZ_SEED ?? 20240601);
const N = Number(process.env.NULLSPACE_FUZZ_N ?? 30000);
const DISK_EVERY = 40; // also read a sample through the file-descriptor path

type Rng = () => number;
const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** A few valid files covering every dtype, empty and 0-d tensors, metadata and an unpadded header. */
function corpus(): Uint8Array[] {
  const mixed = new Uint8Array(16 + 8 + 4 + 4 + 8 + 2 + 2);
  new DataView(mixed.buffer).setFloat64(0, Math.PI, true);
  mixed.set(u16le([0x3c00, 0xc000, 0x4049, 0x7f80]), 24);
  const mixedHeader = {
    __metadata__: { config: '{"n_layer":2}', format: "pt" },
    f64: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
    i64: { dtype: "I64", shape: [1], data_offsets: [16, 24] },
    f16: { dtype: "F16", shape: [2], data_offsets: [24, 28] },
    bf16: { dtype: "BF16", shape: [2, 1], data_offsets: [28, 32] },
    i32: { dtype: "I32", shape: [2], data_offsets: [32, 40] },
    u8: { dtype: "U8", shape: [2], data_offsets: [40, 42] },
    bool: { dtype: "BOOL", shape: [1, 2], data_offsets: [42, 44] },
    empty: { dtype: "F32", shape: [0, 3], data_offsets: [44, 44] },
  };
  return [
    encodeSafetensors({
      "transformer.wte.weight": { shape: [5, 4], data: Float32Array.from({ length: 20 }, (_, i) => i / 7) },
      "transformer.ln_f.bias": { shape: [4], data: new Float32Array([0, -1, 2, NaN]) },
      scalar: { shape: [], data: new Float32Array([1]) },
      empty: { shape: [0], data: new Float32Array(0) },
    }, { config: JSON.stringify({ n_layer: 2, block: "reference" }) }),
    rawFile(mixedHeader, mixed),
    encodeSafetensors({}),
    rawFile('{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]}}', 14),
  ];
}

const NASTY_NUMBERS = [0, 1, 2, 3, 4, 7, 8, 16, -1, -0, 0.5, 1e300, -1e300, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 2 ** 40, 1e-300, 123456789];
const DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL", "F8_E4M3", "C64", "f32", "", "F32 ", "__proto__"];

function randomNumber(r: Rng): number {
  return r() < 0.5 ? pick(r, NASTY_NUMBERS) : r() < 0.5 ? int(r, 64) : (r() - 0.5) * 10 ** int(r, 30);
}

function randomString(r: Rng): string {
  const alphabet = ['a', 'x', '"', "\\", "\n", "\u0000", "é", "\ud800", "😀", "{", "}", "[", ":", ",", "__metadata__", "dtype", "shape", "data_offsets"];
  let s = "";
  for (let i = int(r, 6); i > 0; i--) s += pick(r, alphabet);
  return s;
}

/** A random JSON value, depth-limited. */
function randomJson(r: Rng, depth = 0): unknown {
  const k = int(r, depth > 2 ? 4 : 7);
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return randomNumber(r);
    case 3: return r() < 0.5 ? randomString(r) : pick(r, DTYPES);
    case 4: return Array.from({ length: int(r, 4) }, () => randomJson(r, depth + 1));
    case 5: return Object.fromEntries(Array.from({ length: int(r, 4) }, () => [randomString(r), randomJson(r, depth + 1)]));
    default: return { dtype: pick(r, DTYPES), shape: randomShape(r), data_offsets: [int(r, 64), int(r, 64)] };
  }
}

function randomShape(r: Rng): unknown {
  if (r() < 0.1) return randomJson(r, 3);
  return Array.from({ length: int(r, 4) }, () => (r() < 0.8 ? int(r, 6) : randomNumber(r)));
}

function splitFile(bytes: Uint8Array): { header: string; data: Uint8Array } | null {
  if (bytes.byteLength < 8) return null;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + n > bytes.byteLength) return null;
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

/** Structural edits on the parsed header: each keeps the file plausible so the deeper checks are reached. */
function editHeader(r: Rng, obj: Record<string, unknown>): void {
  const names = Object.keys(obj);
  const name = names.length ? pick(r, names) : "x";
  const entry = obj[name];
  const e = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
  switch (int(r, 10)) {
    case 0: e.dtype = pick(r, DTYPES); break;
    case 1: e.shape = randomShape(r); break;
    case 2: { // nudge one offset
      const off = Array.isArray(e.data_offsets) ? [...(e.data_offsets as unknown[])] : [0, 0];
      const i = int(r, 2);
      off[i] = typeof off[i] === "number" ? (off[i] as number) + pick(r, [-8, -4, -2, -1, 1, 2, 4, 8]) : randomNumber(r);
      e.data_offsets = off;
      break;
    }
    case 3: e.data_offsets = r() < 0.7 ? [randomNumber(r), randomNumber(r)] : randomJson(r); break;
    case 4: obj[r() < 0.5 ? randomString(r) : name + "2"] = randomJson(r); return;
    case 5: delete obj[name]; return;
    case 6: obj[name] = randomJson(r); return;
    case 7: obj.__metadata__ = r() < 0.5 ? { [randomString(r)]: randomJson(r) } : randomJson(r); return;
    case 8: delete e[pick(r, ["dtype", "shape", "data_offsets"])]; break;
    default: { // move a whole tensor (size kept): makes overlaps and holes rather than size mismatches
      const off = e.data_offsets;
      if (Array.isArray(off) && off.every((v) => typeof v === "number")) {
        const d = pick(r, [-16, -8, -4, -2, 2, 4, 8, 16]);
        e.data_offsets = (off as number[]).map((v) => v + d);
      }
      break;
    }
  }
  obj[name] = e;
}

/** Text edits on the header: replace a number or string token, delete/insert characters, duplicate a key. */
function editHeaderText(r: Rng, text: string): string {
  const tokens = [...text.matchAll(/-?\d+(\.\d+)?|"(?:[^"\\]|\\.)*"/g)];
  switch (int(r, 6)) {
    case 5: { // replace a token with a deeply nested value (message rendering must not recurse)
      if (!tokens.length) return text;
      const m = pick(r, tokens);
      const k = 1000 + int(r, 100_000);
      const deep = r() < 0.5 ? "[".repeat(k) + "]".repeat(k) : '{"a":'.repeat(k) + "0" + "}".repeat(k);
      return text.slice(0, m.index) + deep + text.slice(m.index! + m[0].length);
    }
    case 0: case 1: {
      if (!tokens.length) return text;
      const m = pick(r, tokens);
      const rep = m[0].startsWith('"') ? JSON.stringify(r() < 0.5 ? pick(r, DTYPES) : randomString(r)) : String(randomNumber(r));
      return text.slice(0, m.index) + rep + text.slice(m.index! + m[0].length);
    }
    case 2: { const i = int(r, text.length + 1); return text.slice(0, i) + text.slice(i + 1 + int(r, 3)); }
    case 3: { const i = int(r, text.length + 1); return text.slice(0, i) + pick(r, ["{", "}", "[", "]", ",", ":", '"', "0", "-", "\\", " ", "\u00ff"]) + text.slice(i); }
    default: { // duplicate the first entry's key
      const m = /^\{("(?:[^"\\]|\\.)*"):(\{[^{}]*\}|"[^"]*")/.exec(text);
      return m ? `{${m[1]}:${m[2]},${text.slice(1)}` : text;
    }
  }
}

/** One mutated file from a corpus file: 1–3 stacked mutations. */
function mutate(r: Rng, base: Uint8Array): Uint8Array {
  let bytes: Uint8Array = base.slice();
  for (let rounds = 1 + int(r, 3); rounds > 0; rounds--) {
    const kind = int(r, 8);
    if (kind === 0) { // bit flips anywhere
      for (let k = 1 + int(r, 4); k > 0 && bytes.length; k--) bytes[int(r, bytes.length)]! ^= 1 << int(r, 8);
    } else if (kind === 1) { // byte flips in the header region (more productive than anywhere)
      const n = Math.min(bytes.length, 8 + 256);
      for (let k = 1 + int(r, 3); k > 0 && n > 8; k--) bytes[8 + int(r, n - 8)] = int(r, 256);
    } else if (kind === 2) { // truncate
      bytes = bytes.slice(0, int(r, bytes.length + 1));
    } else if (kind === 3) { // append
      const extra = Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes); out.set(extra, bytes.length);
      bytes = out;
    } else if (kind === 4) { // rewrite the length prefix
      if (bytes.length >= 8) {
        const old = new DataView(bytes.buffer).getBigUint64(0, true);
        const v = pick(r, [0n, 1n, old - 1n, old + 1n, old + 8n, BigInt(int(r, 1 << 20)), 2n ** 63n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n]);
        new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
      }
    } else {
      const parts = splitFile(bytes);
      if (!parts) continue;
      let header = parts.header;
      let data: Uint8Array = parts.data;
      if (kind === 5) header = editHeaderText(r, header);
      else {
        let obj: unknown;
        try { obj = JSON.parse(header); } catch { continue; }
        if (typeof obj !== "object" || obj === null || Array.isArray(obj)) continue;
        editHeader(r, obj as Record<string, unknown>);
        try { header = JSON.stringify(obj); } catch { continue; } // a deep value from an earlier round

        if (kind === 7) data = new Uint8Array(int(r, 80)); // random buffer length
      }
      bytes = rawFile(header, data);
    }
  }
  return bytes;
}

function outcome(fn: () => { tensors: Map<string, { shape: number[]; data: Float32Array }> }): string {
  try {
    const { tensors } = fn();
    for (const [name, t] of tensors) {
      const numel = t.shape.reduce((a, b) => a * b, 1);
      assert.equal(t.data.length, numel, `tensor ${name}: data length matches shape`);
      assert.ok(t.data instanceof Float32Array);
    }
    return `ok:${[...tensors.keys()].join("|")}`;
  } catch (e) {
    if (!(e instanceof UserError)) throw e; // anything else is a crash: fail with the real stack
    assert.ok(!e.message.includes("\n"), `multi-line message: ${JSON.stringify(e.message)}`);
    return `err:${e.message.slice(e.message.indexOf(": ") + 2)}`;
  }
}

test(`fuzz: ${N} mutated files (seed ${SEED}) → tensors or a one-line UserError`, { timeout: 120_000 }, (t) => {
  const r = seededUniform(SEED);
  const bases = corpus();
  for (const b of bases) assert.match(outcome(() => readSafetensors(b)), /^ok:/, "corpus files are valid");
  const dir = mkdtempSync(join(tmpdir(), "nullspace-fuzz-"));
  let accepted = 0;
  let onDisk = 0;
  let slowest = 0;
  const kinds = new Map<string, number>();
  const t0 = performance.now();
  try {
    for (let i = 0; i < N; i++) {
      const bytes = mutate(r, pick(r, bases));
      const s = performance.now();
      let mem: string;
      try {
        mem = outcome(() => readSafetensors(bytes));
      } catch (e) {
        // Print the reproducer: seed, index and the bytes in base64.
        throw new Error(`fuzz case ${i} (seed ${SEED}) crashed: ${String(e)}\nfile (base64): ${Buffer.from(bytes).toString("base64")}`);
      }
      slowest = Math.max(slowest, performance.now() - s);
      if (mem.startsWith("ok:")) accepted++;
      else {
        // Histogram of problems (names and numbers blanked) shows which checks the fuzz reaches.
        const kind = mem.replace(/"(?:[^"\\]|\\.)*"|-?\d[\d.e+-]*|\[[^\]]*\]|\([^)]*\)/g, "_");
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      if (i % DISK_EVERY === 0) {
        // The fd-based path must agree with the in-memory one, message for message.
        const path = join(dir, `case${i}.safetensors`);
        writeFileSync(path, bytes);
        const disk = outcome(() => readSafetensors(path));
        assert.equal(disk, mem.startsWith("err:") ? `err:${mem.slice(4)}` : mem, `case ${i}: file and memory readers disagree`);
        onDisk++;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = (performance.now() - t0) / 1000;
  t.diagnostic(`${N} files in ${secs.toFixed(2)} s (${onDisk} also from disk); ${accepted} accepted, ${N - accepted} rejected; slowest ${slowest.toFixed(1)} ms`);
  if (process.env.NULLSPACE_FUZZ_VERBOSE) for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1])) t.diagnostic(`${n}  ${k}`);
  t.diagnostic(`${kinds.size} distinct kinds of rejection`);
  // Enough mutations must stay valid, or the fuzzer only exercises the first checks.
  assert.ok(accepted > N * 0.02, `only ${accepted} accepted`);
  assert.ok(secs < 60, `fuzz took ${secs.toFixed(1)} s`);
});
