import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync, chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/util/errors.js";
import {
  checkTensorSet, encodeSafetensors, readSafetensors, readSafetensorsHeader, writeSafetensors, type TensorF32,
} from "../../src/io/safetensors.js";
import { withAtomicFile, writeAll, writeFileAtomic, writeJsonAtomic } from "../../src/io/atomic.js";
import { rawFile, u16le } from "./st-helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "nullspace-st-"));
const f32 = (...v: number[]) => new Float32Array(v);

/** Asserts a one-line UserError whose message starts with `file: ` and matches `re`. */
function rejects(fn: () => unknown, re: RegExp, file = "<buffer>") {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `message is not one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${file}: `), `message does not name the file: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const sample = (): Record<string, TensorF32> => ({
  "transformer.h.0.mlp.c_fc.weight": { dtype: "F32", shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5) },
  "b.scalar": { shape: [], data: f32(3.25) },
  "a.empty": { shape: [0], data: f32() },
  "c.empty2d": { shape: [3, 0, 2], data: f32() },
  "10": { shape: [2], data: f32(1, 2) }, // integer-like names must not be reordered by JSON objects
  "2": { shape: [1], data: f32(-0) },
  "ünï/cøde": { shape: [5], data: f32(NaN, Infinity, -Infinity, 1.4e-45, 3.4028234663852886e38) },
});

function assertSame(got: Map<string, { shape: number[]; data: Float32Array }>, want: Record<string, TensorF32>) {
  assert.deepEqual([...got.keys()].sort(), Object.keys(want).sort());
  for (const [name, t] of Object.entries(want)) {
    const g = got.get(name)!;
    assert.deepEqual(g.shape, [...t.shape], name);
    assert.deepEqual(new Uint8Array(g.data.buffer, g.data.byteOffset, g.data.byteLength), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), `${name} bits`);
  }
}

test("round trip in memory and through a file, bit-exact, with metadata", () => {
  const t = sample();
  const meta = { config: JSON.stringify({ n_layer: 2 }), note: "héllo" };
  const bytes = encodeSafetensors(t, meta);
  const mem = readSafetensors(bytes);
  assertSame(mem.tensors, t);
  assert.deepEqual(mem.metadata, meta);

  const dir = tmp();
  const path = join(dir, "model.safetensors");
  writeSafetensors(path, t, meta);
  assert.deepEqual(new Uint8Array(readFileSync(path)), bytes, "file and in-memory encodings agree");
  const disk = readSafetensors(path);
  assertSame(disk.tensors, t);
  assert.deepEqual(disk.metadata, meta);
  assert.deepEqual(readdirSync(dir), ["model.safetensors"], "no temp file left behind");
  rmSync(dir, { recursive: true });
});

test("layout: 8+N is a multiple of 8, space padding, tensors sorted by name and contiguous", () => {
  const bytes = encodeSafetensors(sample());
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/);
  const h = readSafetensorsHeader(bytes);
  const names = [...h.tensors.keys()];
  const byOffset = [...h.tensors].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end).map(([k]) => k);
  const sorted = [...names].sort();
  // Empty tensors share their offset with a neighbour, so compare only the non-empty ones' order.
  const nonEmpty = (xs: string[]) => xs.filter((k) => h.tensors.get(k)!.end > h.tensors.get(k)!.begin);
  assert.deepEqual(nonEmpty(byOffset), nonEmpty(sorted));
  assert.equal(h.dataStart, 8 + n);
  // The header text lists tensors in sorted order too (integer-like names included).
  const order = [...text.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
  assert.deepEqual(order, ["10", "2", "a.empty", "b.scalar", "c.empty2d", "transformer.h.0.mlp.c_fc.weight", "ünï/cøde"]);
});

test("empty file set and no metadata", () => {
  const r = readSafetensors(encodeSafetensors({}));
  assert.equal(r.tensors.size, 0);
  assert.deepEqual(r.metadata, {});
});

test("F16 and BF16 decode to hand-computed float32 values", () => {
  const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x3555, 0x8000, 0x7c00, 0xfc00, 0x7e00];
  const want16 = [1, -2, 65504, 2 ** -24, 2 ** -14, 0.333251953125, -0, Infinity, -Infinity, NaN];
  const bf16 = [0x3f80, 0xc040, 0x4049, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x8000];
  const wantbf = [1, -3, 3.140625, 2 ** -133, Infinity, -Infinity, NaN, -0];
  const buf = new Uint8Array([...u16le(f16), ...u16le(bf16)]);
  const header = {
    h: { dtype: "F16", shape: [2, 5], data_offsets: [0, 20] },
    b: { dtype: "BF16", shape: [8], data_offsets: [20, 36] },
  };
  const r = readSafetensors(rawFile(header, buf));
  assert.deepEqual([...r.tensors.get("h")!.data], want16);
  assert.deepEqual([...r.tensors.get("b")!.data], wantbf);
  assert.equal(r.tensors.get("h")!.dtype, "F16");
  assert.deepEqual(r.tensors.get("h")!.shape, [2, 5]);
  assert.ok(Object.is(r.tensors.get("h")!.data[6], -0));
});

test("F64 and integer dtypes convert to float32", () => {
  const buf = new Uint8Array(8 * 2 + 8 * 2 + 4 * 2 + 2 + 1 + 1 + 2 + 1);
  const dv = new DataView(buf.buffer);
  dv.setFloat64(0, 0.1, true); dv.setFloat64(8, -1e300, true);
  dv.setBigInt64(16, -5n, true); dv.setBigInt64(24, 2n ** 40n, true);
  dv.setInt32(32, -7, true); dv.setInt32(36, 123456, true);
  dv.setInt16(40, -300, true);
  dv.setInt8(42, -3);
  dv.setUint8(43, 250);
  dv.setUint8(44, 0); dv.setUint8(45, 7); // BOOL: nonzero is true
  dv.setUint8(46, 9); // I8 padding tensor so the buffer is covered
  const header = {
    f64: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
    i64: { dtype: "I64", shape: [2], data_offsets: [16, 32] },
    i32: { dtype: "I32", shape: [2], data_offsets: [32, 40] },
    i16: { dtype: "I16", shape: [], data_offsets: [40, 42] },
    i8: { dtype: "I8", shape: [1], data_offsets: [42, 43] },
    u8: { dtype: "U8", shape: [1], data_offsets: [43, 44] },
    bool: { dtype: "BOOL", shape: [2], data_offsets: [44, 46] },
    pad: { dtype: "U8", shape: [1], data_offsets: [46, 47] },
  };
  const r = readSafetensors(rawFile(header, buf)).tensors;
  assert.deepEqual([...r.get("f64")!.data], [Math.fround(0.1), -Infinity]);
  assert.deepEqual([...r.get("i64")!.data], [-5, 2 ** 40]);
  assert.deepEqual([...r.get("i32")!.data], [-7, 123456]);
  assert.deepEqual([...r.get("i16")!.data], [-300]);
  assert.deepEqual([...r.get("i8")!.data], [-3]);
  assert.deepEqual([...r.get("u8")!.data], [250]);
  assert.deepEqual([...r.get("bool")!.data], [0, 1]);
});

test("alignment: unaligned inputs are copied, aligned F32 is a view unless copy is asked for", () => {
  const t = { w: { shape: [3], data: f32(1.5, -2, 3) }, d: { shape: [1], data: f32(9) } };
  const bytes = encodeSafetensors(t);
  // Aligned: the returned data views the input.
  const view = readSafetensors(bytes).tensors.get("w")!.data;
  assert.equal(view.buffer, bytes.buffer);
  const own = readSafetensors(bytes, { copy: true }).tensors.get("w")!.data;
  assert.notEqual(own.buffer, bytes.buffer);
  assert.deepEqual([...own], [1.5, -2, 3]);
  // Shift the whole file by 1..7 bytes inside a bigger buffer: every offset becomes unaligned.
  for (let shift = 1; shift < 8; shift++) {
    const big = new Uint8Array(bytes.byteLength + shift);
    big.set(bytes, shift);
    const r = readSafetensors(big.subarray(shift));
    assertSame(r.tensors, t);
  }
  // An unpadded header (8+N odd) from another writer: F32 and F64 tensors at odd file offsets.
  const buf = new Uint8Array(12);
  new DataView(buf.buffer).setFloat32(0, 2.5, true);
  new DataView(buf.buffer).setFloat64(4, -0.75, true);
  const odd = rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]}}', buf);
  const r = readSafetensors(odd).tensors;
  assert.deepEqual([...r.get("a")!.data], [2.5]);
  assert.deepEqual([...r.get("b")!.data], [-0.75]);
});

test("unaligned F32 file on disk reads correctly", () => {
  const dir = tmp();
  const path = join(dir, "odd.safetensors");
  const buf = new Uint8Array(8);
  new DataView(buf.buffer).setFloat32(0, 1.25, true);
  new DataView(buf.buffer).setFloat32(4, -8, true);
  writeFileSync(path, rawFile('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', buf));
  assert.deepEqual([...readSafetensors(path).tensors.get("x")!.data], [1.25, -8]);
  rmSync(dir, { recursive: true });
});

// ---------------------------------------------------------------- rejections

const ok = { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] };

test("rejects files too short or with a bad header length", () => {
  rejects(() => readSafetensors(new Uint8Array(0)), /0 bytes, shorter than the 8-byte header length/);
  rejects(() => readSafetensors(new Uint8Array(7)), /7 bytes, shorter/);
  rejects(() => readSafetensors(rawFile({ x: ok }, 16, 10_000n)), /header length 10000 runs past the end of the file/);
  rejects(() => readSafetensors(rawFile({ x: ok }, 16, 2n ** 64n - 1n)), /header length 18446744073709551615 exceeds the 100000000-byte limit/);
  rejects(() => readSafetensors(rawFile({ x: ok }, 16, 100_000_001n)), /exceeds the 100000000-byte limit/);
  rejects(() => readSafetensors(rawFile("", 0)), /does not start with "\{"/);
});

test("rejects a header that is not UTF-8, not JSON, or not an object", () => {
  const bad = rawFile('{"x":1}');
  bad[10] = 0xff;
  rejects(() => readSafetensors(bad), /not valid UTF-8/);
  rejects(() => readSafetensors(rawFile('{"x": ')), /not valid JSON/);
  rejects(() => readSafetensors(rawFile('{"a":{}}\n{"b":"\n"}')), /not valid JSON/);
  rejects(() => readSafetensors(rawFile(" {}")), /does not start with/);
  rejects(() => readSafetensors(rawFile("[1,2]")), /does not start with/);
  rejects(() => readSafetensors(rawFile("{}", 0, 1n)), /not valid JSON/); // header cut to "{"
});

test("rejects entries that are not objects or have missing / ill-typed fields", () => {
  const one = (entry: unknown, data = 16) => readSafetensors(rawFile({ x: entry }, data));
  rejects(() => one(5), /tensor "x" is a number, not an object/);
  rejects(() => one([1]), /tensor "x" is an array, not an object/);
  rejects(() => one(null), /tensor "x" is null, not an object/);
  rejects(() => one({ shape: [2, 2], data_offsets: [0, 16] }), /tensor "x" has no dtype/);
  rejects(() => one({ ...ok, dtype: 3 }), /tensor "x" dtype is a number, not a string/);
  rejects(() => one({ ...ok, dtype: "F33" }), /tensor "x" has unknown dtype "F33"/);
  rejects(() => one({ ...ok, dtype: "F8_E4M3" }), /tensor "x" has unsupported dtype "F8_E4M3"/);
  rejects(() => one({ ...ok, dtype: "f32" }), /unknown dtype "f32"/);
  rejects(() => one({ dtype: "F32", data_offsets: [0, 16] }), /tensor "x" has no shape/);
  rejects(() => one({ ...ok, shape: "2,2" }), /shape is a string, not an array/);
  rejects(() => one({ ...ok, shape: [2, -2] }), /bad dimension -2/);
  rejects(() => one({ ...ok, shape: [2, 2.5] }), /bad dimension 2.5/);
  rejects(() => one({ ...ok, shape: [2, "2"] }), /bad dimension "2"/);
  rejects(() => one({ ...ok, shape: [2, null] }), /bad dimension null/);
  rejects(() => one({ ...ok, shape: [1e300] }), /bad dimension 1e\+300/);
  rejects(() => one({ ...ok, shape: [2 ** 30, 2 ** 30, 2 ** 30] }), /shape \[1073741824,1073741824,1073741824\] is too large/);
  rejects(() => one({ ...ok, shape: [2 ** 40] }), /do not match shape \[1099511627776\] × F32 = 4398046511104 bytes/);
  rejects(() => one({ dtype: "F32", shape: [2, 2] }), /tensor "x" has no data_offsets/);
  rejects(() => one({ ...ok, data_offsets: [0] }), /data_offsets must be \[begin, end\]/);
  rejects(() => one({ ...ok, data_offsets: [0, 16, 32] }), /data_offsets must be \[begin, end\]/);
  rejects(() => one({ ...ok, data_offsets: { 0: 0, 1: 16 } }), /data_offsets must be \[begin, end\]/);
  rejects(() => one({ ...ok, data_offsets: [0, "16"] }), /data_offsets \[0, "16"\] are not integers >= 0/);
  rejects(() => one({ ...ok, data_offsets: [-4, 12] }), /are not integers >= 0/);
  rejects(() => one({ ...ok, data_offsets: [0.5, 16] }), /are not integers >= 0/);
  rejects(() => one({ ...ok, data_offsets: [16, 0] }), /data_offsets \[16, 0\] end before they begin/);
  rejects(() => one({ ...ok, data_offsets: [0, 20] }), /data_offsets \[0, 20\] run past the 16-byte data buffer/);
  rejects(() => one({ ...ok, data_offsets: [0, 2 ** 60] }), /are not integers >= 0|run past/);
});

test("rejects a byte length that does not match shape × dtype (the documented example)", () => {
  const file = rawFile({ x: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, 12);
  rejects(() => readSafetensors(file, { name: "model.safetensors" }), /^model\.safetensors: tensor "x" data_offsets \[0, 12\] do not match shape \[2,2\] × F32 = 16 bytes$/, "model.safetensors");
  rejects(() => readSafetensors(rawFile({ x: { dtype: "BF16", shape: [3], data_offsets: [0, 4] } }, 4)), /shape \[3\] × BF16 = 6 bytes/);
  rejects(() => readSafetensors(rawFile({ x: { dtype: "F32", shape: [], data_offsets: [0, 0] } })), /shape \[\] × F32 = 4 bytes/);
});

test("rejects overlaps, holes and uncovered bytes", () => {
  const e = (b: number, end: number, n = (end - b) / 4) => ({ dtype: "F32", shape: [n], data_offsets: [b, end] });
  rejects(() => readSafetensors(rawFile({ a: e(0, 8), b: e(4, 12) }, 12)), /tensor "b" data_offsets \[4, 12\] overlap tensor "a"/);
  rejects(() => readSafetensors(rawFile({ a: e(0, 8), b: e(0, 8) }, 8)), /overlap/);
  rejects(() => readSafetensors(rawFile({ a: e(0, 4), b: e(8, 12) }, 12)), /bytes \[4, 8\) of the data buffer belong to no tensor \(a hole before tensor "b"\)/);
  rejects(() => readSafetensors(rawFile({ b: e(4, 8) }, 8)), /bytes \[0, 4\) .* hole before tensor "b"/);
  rejects(() => readSafetensors(rawFile({ a: e(0, 4) }, 12)), /bytes \[4, 12\) at the end of the data buffer belong to no tensor/);
  rejects(() => readSafetensors(rawFile({}, 3)), /bytes \[0, 3\) at the end/);
  // Empty tensors may sit at a boundary between tensors or at either end of the buffer, but (as in the
  // reference implementation) not strictly inside another tensor's bytes.
  const r = readSafetensors(rawFile({ a: e(0, 4), z: e(4, 4), y: e(0, 0), x: e(8, 8), b: e(4, 8) }, 8));
  assert.equal(r.tensors.size, 5);
  rejects(() => readSafetensors(rawFile({ a: e(0, 4), m: e(2, 2) }, 4)), /tensor "m" data_offsets \[2, 2\] overlap tensor "a"/);
});

test("rejects bad __metadata__ and duplicate keys", () => {
  rejects(() => readSafetensors(rawFile({ __metadata__: { a: 1 } })), /__metadata__ "a" is a number, not a string/);
  rejects(() => readSafetensors(rawFile({ __metadata__: { a: { b: "c" } } })), /__metadata__ "a" is an object/);
  rejects(() => readSafetensors(rawFile({ __metadata__: ["a"] })), /__metadata__ is not a JSON object of strings/);
  rejects(() => readSafetensors(rawFile({ __metadata__: "x" })), /__metadata__ is not a JSON object/);
  rejects(() => readSafetensors(rawFile({ __metadata__: null })), /__metadata__ is not a JSON object/);
  const ent = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  rejects(() => readSafetensors(rawFile(`{"x":${ent},"x":${ent}}`, 4)), /header has duplicate key "x"/);
  rejects(() => readSafetensors(rawFile(`{"x":${ent},"\\u0078":${ent}}`, 4)), /duplicate key "x"/);
  rejects(() => readSafetensors(rawFile(`{"x":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, 4)), /duplicate key "dtype"/);
  rejects(() => readSafetensors(rawFile(`{"__metadata__":{"a":"1","a":"2"}}`)), /duplicate key "a"/);
  // Same key in *different* objects, or inside string values / arrays, is fine.
  const r = readSafetensors(rawFile(`{"__metadata__":{"x":"\\"x\\":{","dtype":"[\\"x\\"]"},"x":${ent}}`, 4));
  assert.equal(r.metadata.x, '"x":{');
  // "__proto__" stays an ordinary key.
  const p = readSafetensors(rawFile(`{"__metadata__":{"__proto__":"v"},"__proto__":${ent}}`, 4));
  assert.equal(Object.getPrototypeOf(p.metadata), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(p.metadata, "__proto__")?.value, "v");
  assert.ok(p.tensors.has("__proto__"));
});

test("hostile names are quoted and capped so the message stays one line", () => {
  const name = "evil\nname" + "x".repeat(500);
  rejects(() => readSafetensors(rawFile({ [name]: 1 })), /tensor "evil\\nnamex+…" is a number/);
});

test("deeply nested hostile values are rejected without overflowing the stack", () => {
  const deep = "[".repeat(200_000) + "]".repeat(200_000);
  const obj = '{"a":'.repeat(200_000) + "1" + "}".repeat(200_000);
  rejects(() => readSafetensors(rawFile(`{"x":{"dtype":"F32","shape":[${deep}],"data_offsets":[0,4]}}`, 4)), /bad dimension \(an array\)/);
  rejects(() => readSafetensors(rawFile(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[${deep},4]}}`, 4)), /data_offsets \[\(an array\), 4\] are not integers/);
  rejects(() => readSafetensors(rawFile(`{"x":${deep}}`)), /tensor "x" is an array/);
  rejects(() => readSafetensors(rawFile(`{"__metadata__":{"m":${obj}}}`)), /__metadata__ "m" is an object/);
  rejects(() => readSafetensors(rawFile(`{"x":{"dtype":${obj},"shape":[1],"data_offsets":[0,4]}}`, 4)), /dtype is an object/);
});

test("unknown extra fields in an entry are ignored", () => {
  const r = readSafetensors(rawFile({ x: { ...ok, extra: [1, 2] } }, 16));
  assert.deepEqual(r.tensors.get("x")!.shape, [2, 2]);
});

test("file errors: missing file, directory, truncated data", () => {
  const dir = tmp();
  rejects(() => readSafetensors(join(dir, "nope.safetensors")), /cannot open \(no such file\)/, join(dir, "nope.safetensors"));
  rejects(() => readSafetensors(dir), /not a regular file|cannot open/, dir);
  const path = join(dir, "t.safetensors");
  writeFileSync(path, rawFile({ x: ok }, 12));
  rejects(() => readSafetensors(path), /run past the 12-byte data buffer/, path);
  rejects(() => readSafetensorsHeader(path), /run past/, path);
  writeFileSync(path, new Uint8Array(3));
  rejects(() => readSafetensors(path), /3 bytes, shorter/, path);
  rmSync(dir, { recursive: true });
});

// ---------------------------------------------------------------- checkTensorSet

test("checkTensorSet: exact match passes; missing, unexpected and mis-shaped tensors are named", () => {
  const expected = { "a.weight": [2, 3], "a.bias": [2] };
  const t = new Map([["a.weight", { shape: [2, 3] }], ["a.bias", { shape: [2] }]]);
  checkTensorSet("m.safetensors", t, expected);
  checkTensorSet("m.safetensors", Object.fromEntries(t), expected);
  rejects(() => checkTensorSet("m.safetensors", new Map([["a.weight", { shape: [2, 3] }]]), expected), /^m\.safetensors: missing tensor "a\.bias" \(expected shape \[2\]\)$/, "m.safetensors");
  rejects(() => checkTensorSet("m.safetensors", new Map([...t, ["c", { shape: [1] }]]), expected), /^m\.safetensors: unexpected tensor "c"$/, "m.safetensors");
  rejects(() => checkTensorSet("m.safetensors", new Map([["a.weight", { shape: [3, 2] }], ["a.bias", { shape: [2] }]]), expected), /tensor "a\.weight" has shape \[3,2\], expected \[2,3\]$/, "m.safetensors");
  rejects(() => checkTensorSet("m.safetensors", new Map([["z", { shape: [] }]]), expected), /missing tensor "a\.weight" .* \(and 2 more problems\)$/, "m.safetensors");
});

// ---------------------------------------------------------------- atomic writes

test("writeFileAtomic / writeJsonAtomic write complete files and leave no temp files", () => {
  const dir = tmp();
  const p = join(dir, "state.json");
  writeJsonAtomic(p, { step: 3, nested: { a: [1, 2] } });
  assert.deepEqual(JSON.parse(readFileSync(p, "utf8")), { step: 3, nested: { a: [1, 2] } });
  assert.ok(readFileSync(p, "utf8").endsWith("\n"));
  writeFileAtomic(p, "replaced");
  assert.equal(readFileSync(p, "utf8"), "replaced");
  writeFileAtomic(p, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
  assert.deepEqual(readdirSync(dir), ["state.json"]);
  assert.throws(() => writeJsonAtomic(p, undefined), /not JSON-serialisable/);
  rmSync(dir, { recursive: true });
});

test("a failing write never truncates an existing good file and leaves no temp file", () => {
  const dir = tmp();
  const p = join(dir, "model.safetensors");
  const good = { w: { shape: [2], data: f32(1, 2) } };
  writeSafetensors(p, good);
  const before = readFileSync(p);
  // 1. Bad input: caught while building the header, before any file is touched.
  assert.throws(() => writeSafetensors(p, { w: { shape: [3], data: f32(1, 2) } }), /shape \[3\] needs 3 values, data has 2/);
  assert.throws(() => writeSafetensors(p, { w: { shape: [2], data: [1, 2] as unknown as Float32Array } }), /must be a Float32Array/);
  assert.throws(() => writeSafetensors(p, good, { a: 1 as unknown as string }), /must be a string/);
  // 2. Failure in the middle of streaming the bytes.
  assert.throws(() => withAtomicFile(p, (fd) => { writeAll(fd, new Uint8Array(5)); throw new Error("disk on fire"); }), /disk on fire/);
  assert.deepEqual(readFileSync(p), before);
  assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
  // 3. Rename fails because a non-empty directory is in the way: temp file removed.
  const blocked = join(dir, "blocked");
  mkdirSync(join(blocked, "inner"), { recursive: true });
  assert.throws(() => writeSafetensors(blocked, good), (e: unknown) => e instanceof UserError && /cannot write .*blocked: E(ISDIR|NOTEMPTY|EXIST)/.test(e.message));
  assert.deepEqual(readdirSync(dir).sort(), ["blocked", "model.safetensors"]);
  // 4. Missing directory: a one-line UserError.
  assert.throws(() => writeFileAtomic(join(dir, "no", "x.json"), "{}"), (e: unknown) => e instanceof UserError && /ENOENT \(directory does not exist\)/.test(e.message));
  assert.deepEqual(readFileSync(p), before);
  rmSync(dir, { recursive: true });
});

test("read-only directory: write fails cleanly (skipped as root, who can write anyway)", (t) => {
  if (process.getuid?.() === 0 || process.platform === "win32") return t.skip("root ignores permissions");
  const dir = tmp();
  const p = join(dir, "model.safetensors");
  writeSafetensors(p, { w: { shape: [1], data: f32(1) } });
  const before = readFileSync(p);
  chmodSync(dir, 0o500);
  try {
    assert.throws(() => writeSafetensors(p, { w: { shape: [1], data: f32(2) } }), (e: unknown) => e instanceof UserError && /EACCES|EPERM/.test(e.message));
    assert.deepEqual(readFileSync(p), before);
    assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
  } finally {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true });
  }
});
