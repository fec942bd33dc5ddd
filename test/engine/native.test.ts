/**
 * The native backend against the js oracle, kernel by kernel, on random inputs with awkward sizes, subarray
 * views and every SIMD level this CPU can run; plus determinism and misuse checks.
 *
 * Tolerance: the native kernels reorder float32 sums (blocked FMA chains, vector lanes) and use a polynomial
 * exp, while the oracle sums left to right, often in float64. A reordered length-k float32 sum differs by at
 * most ~k·2⁻²⁴·Σ|terms|; for k ≤ 520 with terms of one magnitude that is ≲ 3e-5 of the output's scale.
 * So each element must satisfy |native − js| ≤ 1e-4·|js| + 3e-5·max|js| (relative 1e-4, plus an absolute
 * floor tied to the array's scale for entries that cancel to near zero).
 */
import { Rng } from "../../src/engine/rng.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers.js";
import { jsBackend } from "../../src/engine/backend/js.js";
import { loadNativeBackend, type NativeAddon } from "../../src/engine/backend/native.js";
import type { Backend } from "../../src/engine/backend/types.js";

interface Addon extends NativeAddon {
  info(): { threads: number; simd: string; available: string[] };
  setSimd(name: string): boolean;
}

const addonPath = join(repoRoot, "build", "Release", "nullspace.node");
const addon: Addon | null = existsSync(addonPath) ? (createRequire(import.meta.url)(addonPath) as Addon) : null;
const js = jsBackend;

// ---------------------------------------------------------------------------------------------------------
// helpers

/** Seeded uniform stream (the engine's xoshiro128**) so failures reproduce. */
function rng(seed: number): () => number {
  const r = new Rng(seed, 42);
  return () => r.uniform();
}

/** n uniform values in [lo, hi), as a subarray view starting `offset` floats into its buffer. */
function rand(r: () => number, n: number, lo = -1, hi = 1, offset = 0): Float32Array {
  const buf = new Float32Array(n + offset + 2);
  const v = buf.subarray(offset, offset + n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * r();
  return v;
}

function copy(a: Float32Array, offset = 0): Float32Array {
  const v = new Float32Array(a.length + offset + 1).subarray(offset, offset + a.length);
  v.set(a);
  return v;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, rtol = 1e-4, afrac = 3e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const x of expected) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
  const atol = afrac * scale + 1e-30;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol)) {
      assert.fail(`${what}: element ${i}: native ${a} vs js ${e} (scale ${scale})`);
    }
  }
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Runs `body` once per SIMD level the CPU supports, restoring the best one afterwards. */
function forEachSimd(body: (simd: string) => void): void {
  const a = addon!;
  const levels = a.info().available;
  try {
    for (const s of levels) {
      assert.equal(a.setSimd(s), true);
      body(s);
    }
  } finally {
    a.setSimd(levels[0]);
  }
}

const skip = addon ? false : "native addon not built";
const nat = (): Backend => loadNativeBackend().backend!;

// ---------------------------------------------------------------------------------------------------------

test("loader exposes the addon as the native backend", { skip }, () => {
  const r = loadNativeBackend();
  assert.equal(r.error, null);
  assert.equal(r.backend!.name, "native");
  assert.ok(r.backend!.threads >= 1);
  const info = addon!.info();
  assert.ok(["avx512", "avx2-fma", "portable"].includes(info.simd));
});

test("sgemm: all transposes, beta 0/1, awkward sizes, leading dims, views", { skip }, () => {
  const r = rng(1);
  const shapes: [number, number, number][] = [
    [1, 1, 1], [7, 33, 129], [129, 7, 33], [33, 129, 7], [1, 129, 33], [129, 1, 7], [17, 31, 0], [129, 129, 129],
    [200, 300, 520], // > one KC block deep, several tiles, split over threads
  ];
  forEachSimd((simd) => {
    for (const [m, n, k] of shapes) {
      for (const ta of [false, true]) for (const tb of [false, true]) for (const beta of [0, 1] as const) {
        const lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        const a = rand(r, Math.max(1, (ta ? k : m) * lda), -1, 1, 1);
        const b = rand(r, Math.max(1, (tb ? n : k) * ldb), -1, 1, 3);
        const c0 = rand(r, m * ldc, -1, 1, 5);
        if (beta === 0) c0.fill(NaN); // beta 0 must overwrite, never read C
        const cj = copy(c0), cn = copy(c0, 7);
        js.sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, cj, ldc);
        nat().sgemm(ta, tb, m, n, k, a, lda, b, ldb, beta, cn, ldc);
        // padding columns between rows (j ≥ n) must be untouched
        for (let i = 0; i < m; i++) for (let j = n; j < ldc && i * ldc + j < c0.length; j++) {
          const p = i * ldc + j;
          assert.ok(Object.is(cn[p], c0[p]) || (Number.isNaN(cn[p]) && Number.isNaN(c0[p])), `sgemm wrote padding at ${p}`);
        }
        if (beta === 0) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) assert.ok(!Number.isNaN(cn[i * ldc + j]));
        assertClose(cn, cj, `sgemm[${simd}] ${ta ? "T" : "N"}${tb ? "T" : "N"} m${m} n${n} k${k} beta${beta}`);
      }
    }
  });
});

test("linearForward / linearBackward (nullable outputs, bias)", { skip }, () => {
  const r = rng(2);
  forEachSimd((simd) => {
    for (const [N, I, O] of [[1, 1, 1], [7, 33, 129], [129, 7, 33], [96, 128, 384]]) {
      const x = rand(r, N * I, -1, 1, 1), w = rand(r, O * I, -1, 1, 2), bias = rand(r, O);
      for (const bb of [bias, null]) {
        const oj = new Float32Array(N * O), on = new Float32Array(N * O);
        js.linearForward(oj, x, w, bb, N, I, O);
        nat().linearForward(on, x, w, bb, N, I, O);
        assertClose(on, oj, `linearForward[${simd}] ${N}x${I}x${O} bias=${!!bb}`);
      }
      const dout = rand(r, N * O, -1, 1, 3);
      const dx0 = rand(r, N * I), dw0 = rand(r, O * I), db0 = rand(r, O);
      for (const mask of [7, 1, 2, 4]) {
        const [dxj, dwj, dbj] = [copy(dx0), copy(dw0), copy(db0)];
        const [dxn, dwn, dbn] = [copy(dx0, 1), copy(dw0, 2), copy(db0, 3)];
        js.linearBackward(mask & 1 ? dxj : null, mask & 2 ? dwj : null, mask & 4 ? dbj : null, dout, x, w, N, I, O);
        nat().linearBackward(mask & 1 ? dxn : null, mask & 2 ? dwn : null, mask & 4 ? dbn : null, dout, x, w, N, I, O);
        assertClose(dxn, dxj, `linearBackward[${simd}] dx ${N}x${I}x${O}`);
        assertClose(dwn, dwj, `linearBackward[${simd}] dw ${N}x${I}x${O}`);
        assertClose(dbn, dbj, `linearBackward[${simd}] dbias ${N}x${I}x${O}`);
      }
    }
  });
});

test("layernorm forward / backward", { skip }, () => {
  const r = rng(3);
  forEachSimd((simd) => {
    for (const [N, C] of [[1, 1], [7, 7], [33, 33], [5, 129], [600, 128]]) {
      const x = rand(r, N * C, -2, 3, 1), w = rand(r, C, 0.5, 1.5), b = rand(r, C, -0.5, 0.5, 2);
      const [oj, mj, rj] = [new Float32Array(N * C), new Float32Array(N), new Float32Array(N)];
      const [on, mn, rn] = [new Float32Array(N * C), new Float32Array(N), new Float32Array(N)];
      js.layernormForward(oj, mj, rj, x, w, b, N, C, 1e-5);
      nat().layernormForward(on, mn, rn, x, w, b, N, C, 1e-5);
      assertClose(on, oj, `layernormForward[${simd}] out ${N}x${C}`);
      assertClose(mn, mj, `layernormForward[${simd}] mean`);
      assertClose(rn, rj, `layernormForward[${simd}] rstd`);
      const dout = rand(r, N * C, -1, 1, 4);
      const dx0 = rand(r, N * C), dw0 = rand(r, C), db0 = rand(r, C);
      for (const mask of [7, 1, 6]) {
        const [dxj, dwj, dbj] = [copy(dx0), copy(dw0), copy(db0)];
        const [dxn, dwn, dbn] = [copy(dx0, 1), copy(dw0, 2), copy(db0, 3)];
        js.layernormBackward(mask & 1 ? dxj : null, mask & 2 ? dwj : null, mask & 4 ? dbj : null, dout, x, w, mj, rj, N, C);
        nat().layernormBackward(mask & 1 ? dxn : null, mask & 2 ? dwn : null, mask & 4 ? dbn : null, dout, x, w, mj, rj, N, C);
        assertClose(dxn, dxj, `layernormBackward[${simd}] dx ${N}x${C}`);
        assertClose(dwn, dwj, `layernormBackward[${simd}] dw ${N}x${C}`);
        assertClose(dbn, dbj, `layernormBackward[${simd}] db ${N}x${C}`);
      }
    }
  });
});

test("GELU forward / backward, including the saturated tails", { skip }, () => {
  const r = rng(4);
  forEachSimd((simd) => {
    for (const n of [1, 7, 33, 129, 100003]) {
      const x = rand(r, n, -12, 12, 1);
      const oj = new Float32Array(n), on = new Float32Array(n);
      js.geluForward(oj, x, n);
      nat().geluForward(on, x, n);
      assertClose(on, oj, `geluForward[${simd}] n${n}`);
      const dout = rand(r, n, -1, 1, 2), d0 = rand(r, n);
      const dj = copy(d0), dn = copy(d0, 3);
      js.geluBackward(dj, x, dout, n);
      nat().geluBackward(dn, x, dout, n);
      assertClose(dn, dj, `geluBackward[${simd}] n${n}`);
    }
  });
});

test("causal attention forward / backward, with masks and fully masked rows", { skip }, () => {
  const r = rng(5);
  forEachSimd((simd) => {
    for (const [B, T, C, H] of [[1, 1, 4, 1], [2, 7, 12, 3], [2, 33, 64, 2], [1, 129, 16, 2], [4, 96, 128, 4]]) {
      const qkv = rand(r, B * T * 3 * C, -2, 2, 1);
      for (const withMask of [false, true]) {
        let mask: Uint8Array | null = null;
        if (withMask) {
          mask = new Uint8Array(B * T * T + 3).subarray(3);
          for (let i = 0; i < mask.length; i++) mask[i] = r() < 0.7 ? 1 : 0;
          for (let b = 0; b < B; b++) if (T > 2) mask.fill(0, (b * T + 2) * T, (b * T + 3) * T); // row t=2: all masked
        }
        const [oj, aj] = [new Float32Array(B * T * C), new Float32Array(B * H * T * T)];
        const [on, an] = [rand(r, B * T * C, -1, 1, 2), rand(r, B * H * T * T, -1, 1, 3)]; // garbage: must be overwritten
        js.attentionForward(oj, aj, qkv, mask, B, T, C, H);
        nat().attentionForward(on, an, qkv, mask, B, T, C, H);
        const tag = `[${simd}] B${B} T${T} C${C} H${H} mask=${withMask}`;
        assertClose(an, aj, `attentionForward att ${tag}`);
        assertClose(on, oj, `attentionForward out ${tag}`);
        if (withMask && T > 2) for (let h = 0; h < H; h++) for (let s = 0; s < T; s++) assert.equal(an[((0 * H + h) * T + 2) * T + s], 0);
        const dout = rand(r, B * T * C, -1, 1, 4), d0 = rand(r, B * T * 3 * C);
        const dj = copy(d0), dn = copy(d0, 5);
        js.attentionBackward(dj, dout, qkv, aj, B, T, C, H);
        nat().attentionBackward(dn, dout, qkv, aj, B, T, C, H);
        assertClose(dn, dj, `attentionBackward ${tag}`);
      }
    }
  });
});

test("cross-entropy forward / backward with ignored rows", { skip }, () => {
  const r = rng(6);
  forEachSimd((simd) => {
    for (const [N, V] of [[1, 1], [7, 7], [33, 33], [9, 129], [700, 128]]) {
      const logits = rand(r, N * V, -8, 8, 1);
      const targets = new Int32Array(N + 1).subarray(1);
      for (let i = 0; i < N; i++) targets[i] = r() < 0.2 ? -1 : Math.floor(r() * V);
      const [lj, pj] = [new Float32Array(N), new Float32Array(N * V)];
      const [ln, pn] = [new Float32Array(N), new Float32Array(N * V)];
      js.crossEntropyForward(lj, pj, logits, targets, N, V);
      nat().crossEntropyForward(ln, pn, logits, targets, N, V);
      assertClose(ln, lj, `crossEntropyForward[${simd}] losses ${N}x${V}`);
      assertClose(pn, pj, `crossEntropyForward[${simd}] probs ${N}x${V}`);
      const dl = rand(r, N, -1, 1, 2);
      if (N > 2) dl[1] = 0;
      const d0 = rand(r, N * V), dj = copy(d0), dn = copy(d0, 2);
      js.crossEntropyBackward(dj, dl, pj, targets, N, V);
      nat().crossEntropyBackward(dn, dl, pj, targets, N, V);
      assertClose(dn, dj, `crossEntropyBackward[${simd}] ${N}x${V}`);
    }
  });
});

test("add / axpy / scale / sumSquares / adamw", { skip }, () => {
  const r = rng(7);
  forEachSimd((simd) => {
    for (const n of [1, 7, 33, 129, 300001]) {
      const a = rand(r, n, -1, 1, 1), b = rand(r, n, -1, 1, 2);
      const oj = new Float32Array(n), on = new Float32Array(n);
      js.add(oj, a, b, n);
      nat().add(on, a, b, n);
      assert.ok(sameBits(on, oj), `add[${simd}] n${n}: float add is exact`);
      const al = copy(a);
      nat().add(al, al, b, n); // out aliases a
      assert.ok(sameBits(al, oj), `add[${simd}] aliasing`);
      const yj = copy(a), yn = copy(a, 1);
      js.axpy(yj, -0.37, b, n);
      nat().axpy(yn, -0.37, b, n);
      assertClose(yn, yj, `axpy[${simd}] n${n}`);
      const sj = copy(b), sn = copy(b, 2);
      js.scale(sj, 1.7, n);
      nat().scale(sn, 1.7, n);
      assert.ok(sameBits(sn, sj), `scale[${simd}] n${n}: one float64 product, then one rounding, like js`);
      const ssj = js.sumSquares(a, n), ssn = nat().sumSquares(a, n);
      assert.ok(Math.abs(ssn - ssj) <= 1e-12 * ssj, `sumSquares[${simd}] n${n}: ${ssn} vs ${ssj}`);
    }
    for (const n of [7, 129, 100001]) for (const [step, wd] of [[1, 0], [10, 0.1]]) {
      const p0 = rand(r, n, -1, 1, 1), g = rand(r, n, -0.1, 0.1, 2), m0 = rand(r, n, -0.01, 0.01), v0 = rand(r, n, 0, 1e-4);
      const [pj, mj, vj] = [copy(p0), copy(m0), copy(v0)];
      const [pn, mn, vn] = [copy(p0, 1), copy(m0, 2), copy(v0, 3)];
      js.adamw(pj, g, mj, vj, n, 3e-3, 0.9, 0.95, 1e-8, wd, step);
      nat().adamw(pn, g, mn, vn, n, 3e-3, 0.9, 0.95, 1e-8, wd, step);
      assertClose(pn, pj, `adamw[${simd}] p n${n} step${step}`, 1e-6, 1e-7);
      assertClose(mn, mj, `adamw[${simd}] m`, 1e-6, 1e-7);
      assertClose(vn, vj, `adamw[${simd}] v`, 1e-6, 1e-7);
    }
  });
});

test("deterministic: bit-identical across calls and thread counts", { skip }, () => {
  const a = addon!;
  const threads0 = a.info().threads;
  const r = rng(8);
  const [M, N, K] = [300, 200, 450];
  const A = rand(r, M * K), Bm = rand(r, K * N), x = rand(r, 640 * 128, -2, 2), w = rand(r, 128, 0.5, 1.5);
  const mean = new Float32Array(640), rstd = new Float32Array(640), ln = new Float32Array(640 * 128);
  js.layernormForward(ln, mean, rstd, x, w, w, 640, 128, 1e-5);
  const [B, T, C, H] = [8, 96, 128, 4];
  const qkv = rand(r, B * T * 3 * C, -2, 2), dout = rand(r, B * T * C);
  const big = rand(r, 500000);
  const runAll = (): Float32Array[] => {
    const c = new Float32Array(M * N);
    a.sgemm(true, false, M, N, K, A, M, Bm, N, 0, c, N);
    const dx = new Float32Array(640 * 128), dw = new Float32Array(128), db = new Float32Array(128);
    a.layernormBackward(dx, dw, db, x, x, w, mean, rstd, 640, 128);
    const out = new Float32Array(B * T * C), att = new Float32Array(B * H * T * T), dq = new Float32Array(B * T * 3 * C);
    a.attentionForward(out, att, qkv, null, B, T, C, H);
    a.attentionBackward(dq, dout, qkv, att, B, T, C, H);
    const g = new Float32Array(big.length);
    a.geluForward(g, big, big.length);
    return [c, dx, dw, db, out, att, dq, g, new Float32Array([a.sumSquares(big, big.length)])];
  };
  try {
    for (const simd of a.info().available) {
      a.setSimd(simd);
      a.setThreads(2);
      const first = runAll(), again = runAll();
      a.setThreads(1);
      const one = runAll();
      a.setThreads(3);
      const three = runAll();
      first.forEach((f, i) => {
        assert.ok(sameBits(f, again[i]), `[${simd}] output ${i} differs between calls`);
        assert.ok(sameBits(f, one[i]), `[${simd}] output ${i} differs between 2 threads and 1`);
        assert.ok(sameBits(f, three[i]), `[${simd}] output ${i} differs between 2 threads and 3`);
      });
    }
  } finally {
    a.setThreads(threads0);
    a.setSimd(a.info().available[0]);
  }
});

test("misuse throws TypeError / RangeError instead of crashing", { skip }, () => {
  const a = addon!;
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => a.sgemm(false, false, 4, 4, 4, f(16), 4, f(16), 4, 0, f(15), 4), RangeError);
  assert.throws(() => a.sgemm(false, false, 4, 4, 4, f(15), 4, f(16), 4, 0, f(16), 4), RangeError);
  assert.throws(() => a.sgemm(true, true, 4, 4, 4, f(16), 3, f(16), 4, 0, f(16), 4), RangeError); // lda < m
  assert.throws(() => a.sgemm(false, false, 4, 4, 4, f(16), 4, f(16), 4, 2 as 0, f(16), 4), RangeError);
  assert.throws(() => a.sgemm(false, false, -1, 4, 4, f(16), 4, f(16), 4, 0, f(16), 4), RangeError);
  assert.throws(() => a.sgemm(false, false, 1.5, 4, 4, f(16), 4, f(16), 4, 0, f(16), 4), RangeError);
  assert.throws(() => a.sgemm(false, false, 4, 4, 4, new Float64Array(16) as unknown as Float32Array, 4, f(16), 4, 0, f(16), 4), TypeError);
  assert.throws(() => (a.sgemm as unknown as (...x: unknown[]) => void)(false, false, 4), TypeError);
  assert.throws(() => a.linearForward(f(8), f(8), f(3), null, 2, 4, 2), RangeError);
  assert.throws(() => a.linearBackward(null, f(7), null, f(4), f(8), f(8), 2, 4, 2), RangeError);
  assert.throws(() => a.layernormForward(f(8), f(1), f(2), f(8), f(4), f(4), 2, 4, 1e-5), RangeError);
  assert.throws(() => a.layernormBackward(f(8), null, null, f(8), f(8), f(4), f(2), f(1), 2, 4), RangeError);
  assert.throws(() => a.geluForward(f(3), f(4), 4), RangeError);
  assert.throws(() => a.geluBackward(f(4), f(4), f(3), 4), RangeError);
  assert.throws(() => a.attentionForward(f(2 * 3 * 4), f(2 * 2 * 9 - 1), f(2 * 3 * 12), null, 2, 3, 4, 2), RangeError); // att short
  assert.throws(() => a.attentionForward(f(24), f(36), f(72), new Uint8Array(17), 2, 3, 4, 2), RangeError); // mask short
  assert.throws(() => a.attentionForward(f(24), f(36), f(72), null, 2, 3, 4, 3), RangeError); // C % H
  assert.throws(() => a.attentionBackward(f(71), f(24), f(72), f(36), 2, 3, 4, 2), RangeError);
  assert.throws(() => a.crossEntropyForward(f(2), f(8), f(8), new Int32Array([0, 4]), 2, 4), RangeError); // target ≥ V
  assert.throws(() => a.crossEntropyForward(f(2), f(8), f(8), new Int32Array([0]), 2, 4), RangeError);
  assert.throws(() => a.crossEntropyBackward(f(8), f(2), f(8), new Float32Array(2) as unknown as Int32Array, 2, 4), TypeError);
  assert.throws(() => a.add(f(4), f(3), f(4), 4), RangeError);
  assert.throws(() => a.axpy(f(4), "x" as unknown as number, f(4), 4), TypeError);
  assert.throws(() => a.scale(f(3), 2, 4), RangeError);
  assert.throws(() => a.sumSquares(f(3), 4), RangeError);
  assert.throws(() => a.adamw(f(4), f(4), f(4), f(3), 4, 1e-3, 0.9, 0.95, 1e-8, 0, 1), RangeError);
  assert.throws(() => a.adamw(f(4), f(4), f(4), f(4), 4, 1e-3, 0.9, 0.95, 1e-8, 0, 0), RangeError); // step ≥ 1
  assert.throws(() => a.setThreads(0), RangeError);
  // Still alive and correct afterwards.
  const c = f(1);
  a.sgemm(false, false, 1, 1, 1, new Float32Array([2]), 1, new Float32Array([3]), 1, 0, c, 1);
  assert.equal(c[0], 6);
});
