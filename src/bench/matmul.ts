/**
 * `nullspace bench matmul`: sgemm GFLOP/s of a backend on square sizes and on the training shapes (the
 * linear layers of a 4-layer, width-128 GPT at batch 32 × 96 tokens), with OpenBLAS sgemm measured in the
 * same run as the peer.
 *
 * Method (ours and the peer's alike): random inputs, one warm-up call, then `repeats` runs; a run times a
 * loop of enough calls to last ≥ ~20 ms (small sizes are µs-scale, below timer noise), and the reported
 * figure is the median run's time per call. Ours and the peer alternate shape by shape so that both see
 * about the same load on a shared machine; `machine.loadavg_*` says how busy it was.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { getBackend } from "../engine/backend/index.js";
import { nativeInfo } from "../engine/backend/native.js";
import type { Backend } from "../engine/backend/types.js";
import { median } from "./stats.js";

export interface BenchMatmulOptions {
  /** Square sizes n (n×n×n). Default 256, 512, 1024. */
  sizes?: number[];
  /** Timed runs per size (≥ 1; default 7). */
  repeats?: number;
  backend?: "native" | "js";
  /** Also time the training shapes (default true). */
  shapes?: boolean;
  /** Measure the OpenBLAS peer (default true). */
  peer?: boolean;
}

/** One sgemm problem: C[m, n] = op(A) @ op(B), op(A): [m, k]. */
export interface MatmulShape {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export interface MatmulTiming {
  gflops_median: number;
  ms_median: number;
  runs: number;
}

/**
 * The sgemm calls of one training step's linear layers (tokens N = 32·96 = 3072, width 128, MLP 512):
 * forward out = x @ wᵀ (NT), backward dx = dout @ w (NN) and dw = doutᵀ @ x (TN).
 */
export const TRAINING_SHAPES: readonly MatmulShape[] = [
  { name: "fwd qkv 3072x384x128 NT", m: 3072, n: 384, k: 128, transA: false, transB: true },
  { name: "fwd attn-proj 3072x128x128 NT", m: 3072, n: 128, k: 128, transA: false, transB: true },
  { name: "fwd fc 3072x512x128 NT", m: 3072, n: 512, k: 128, transA: false, transB: true },
  { name: "fwd mlp-proj 3072x128x512 NT", m: 3072, n: 128, k: 512, transA: false, transB: true },
  { name: "bwd dx qkv 3072x128x384 NN", m: 3072, n: 128, k: 384, transA: false, transB: false },
  { name: "bwd dx fc 3072x128x512 NN", m: 3072, n: 128, k: 512, transA: false, transB: false },
  { name: "bwd dw qkv 384x128x3072 TN", m: 384, n: 128, k: 3072, transA: true, transB: false },
  { name: "bwd dw fc 512x128x3072 TN", m: 512, n: 128, k: 3072, transA: true, transB: false },
];

const MIN_RUN_MS = 20;

function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

function timeShape(be: Backend, s: MatmulShape, repeats: number): MatmulTiming {
  const { m, n, k, transA, transB } = s;
  const a = randomArray(m * k, 1), b = randomArray(k * n, 2), c = new Float32Array(m * n);
  const lda = transA ? m : k, ldb = transB ? k : n;
  const call = () => be.sgemm(transA, transB, m, n, k, a, lda, b, ldb, 0, c, n);
  const t0 = performance.now();
  call(); // warm-up (thread pool, packing buffers, caches)
  const first = Math.max(performance.now() - t0, 1e-3);
  const calls = Math.max(1, Math.ceil(MIN_RUN_MS / first));
  const perCall: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    for (let i = 0; i < calls; i++) call();
    perCall.push((performance.now() - t) / calls);
  }
  const ms = median(perCall);
  return { gflops_median: round((2 * m * n * k) / (ms * 1e6), 1), ms_median: round(ms, 4), runs: repeats };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const square = (n: number): MatmulShape => ({ name: `${n}x${n}x${n} NN`, m: n, n, k: n, transA: false, transB: false });

// ---------------------------------------------------------------------------------------------------------
// Peer: OpenBLAS's cblas_sgemm, timed by a tiny C program compiled on the fly (dlopen, so only the runtime
// library is needed, no headers); numpy's float32 matmul (Debian's numpy calls libblas.so.3, which the
// OpenBLAS package provides through alternatives) is the fallback when there is no C compiler.

const PEER_C = String.raw`
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef void (*sgemm_t)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec * 1e-6; }
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return x < y ? -1 : x > y; }
int main(int argc, char** argv) {
  const char* libs[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.so", 0};
  void* h = 0; const char* used = 0;
  for (int i = 0; libs[i] && !h; i++) { h = dlopen(libs[i], RTLD_NOW); used = libs[i]; }
  if (!h) { printf("{\"error\":\"libopenblas not found\"}\n"); return 0; }
  sgemm_t sgemm = (sgemm_t)dlsym(h, "cblas_sgemm");
  if (!sgemm) { printf("{\"error\":\"cblas_sgemm missing\"}\n"); return 0; }
  char* (*cfg)(void) = (char* (*)(void))dlsym(h, "openblas_get_config");
  char* (*core)(void) = (char* (*)(void))dlsym(h, "openblas_get_corename");
  int (*nthr)(void) = (int (*)(void))dlsym(h, "openblas_get_num_threads");
  int repeats = atoi(argv[1]);
  printf("{\"library\":\"%s\",\"config\":\"%s\",\"core\":\"%s\",\"threads\":%d,\"results\":[", used, cfg ? cfg() : "", core ? core() : "", nthr ? nthr() : -1);
  double* t = malloc(sizeof(double) * repeats);
  for (int q = 2; q + 5 <= argc; q += 5) {
    int m = atoi(argv[q]), n = atoi(argv[q + 1]), k = atoi(argv[q + 2]), ta = atoi(argv[q + 3]), tb = atoi(argv[q + 4]);
    float* a = malloc(sizeof(float) * m * k); float* b = malloc(sizeof(float) * k * n); float* c = malloc(sizeof(float) * m * n);
    unsigned s = 1; for (long i = 0; i < (long)m * k; i++) { s = s * 1664525u + 1013904223u; a[i] = s / 4294967296.0 - 0.5; }
    for (long i = 0; i < (long)k * n; i++) { s = s * 1664525u + 1013904223u; b[i] = s / 4294967296.0 - 0.5; }
    int lda = ta ? m : k, ldb = tb ? k : n;
    double t0 = now_ms();
    sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
    double first = now_ms() - t0; if (first < 1e-3) first = 1e-3;
    int calls = (int)(${MIN_RUN_MS} / first) + 1;
    for (int r = 0; r < repeats; r++) {
      double t1 = now_ms();
      for (int i = 0; i < calls; i++) sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
      t[r] = (now_ms() - t1) / calls;
    }
    qsort(t, repeats, sizeof(double), cmp);
    double med = repeats % 2 ? t[repeats / 2] : (t[repeats / 2 - 1] + t[repeats / 2]) / 2;
    printf("%s{\"ms\":%.6f}", q == 2 ? "" : ",", med);
    free(a); free(b); free(c);
  }
  printf("]}\n");
  return 0;
}
`;

const PEER_PY = String.raw`
import json, sys, time
import numpy as np
repeats = int(sys.argv[1]); args = [int(x) for x in sys.argv[2:]]
out = []
for q in range(0, len(args), 5):
    m, n, k, ta, tb = args[q:q + 5]
    rng = np.random.default_rng(1)
    a = (rng.random((k, m) if ta else (m, k), dtype=np.float32) - 0.5)
    b = (rng.random((n, k) if tb else (k, n), dtype=np.float32) - 0.5)
    A = a.T if ta else a; B = b.T if tb else b; c = np.empty((m, n), dtype=np.float32)
    t0 = time.perf_counter(); np.matmul(A, B, out=c); first = max(time.perf_counter() - t0, 1e-6)
    calls = int(0.02 / first) + 1; ts = []
    for r in range(repeats):
        t1 = time.perf_counter()
        for i in range(calls): np.matmul(A, B, out=c)
        ts.append((time.perf_counter() - t1) / calls * 1e3)
    ts.sort(); out.append({"ms": ts[len(ts) // 2] if len(ts) % 2 else (ts[len(ts) // 2 - 1] + ts[len(ts) // 2]) / 2})
print(json.dumps({"library": "numpy " + np.__version__ + " matmul (libblas.so.3)", "results": out}))
`;

interface PeerRaw {
  library: string;
  config?: string;
  core?: string;
  threads?: number;
  results: { ms: number }[];
  error?: string;
}

function shapeArgs(shapes: MatmulShape[]): string[] {
  return shapes.flatMap((s) => [s.m, s.n, s.k, s.transA ? 1 : 0, s.transB ? 1 : 0].map(String));
}

function runPeerC(shapes: MatmulShape[], repeats: number, env: NodeJS.ProcessEnv): PeerRaw | string {
  const cc = ["cc", "gcc", "clang"].find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0);
  if (!cc) return "no C compiler";
  const hash = createHash("sha256").update(PEER_C).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), `nullspace-blas-peer-${hash}`);
  const exe = join(dir, "peer");
  if (!existsSync(exe)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "peer.c"), PEER_C);
    const r = spawnSync(cc, ["-O2", "-o", exe, join(dir, "peer.c"), "-ldl"], { encoding: "utf8" });
    if (r.status !== 0) return `compiling the peer timer failed: ${(r.stderr || "").split("\n")[0]}`;
  }
  const r = spawnSync(exe, [String(repeats), ...shapeArgs(shapes)], { encoding: "utf8", env, timeout: 600_000 });
  if (r.status !== 0) return `peer timer failed (${r.signal ?? r.status})`;
  const raw = JSON.parse(r.stdout) as PeerRaw;
  return raw.error ? raw.error : raw;
}

function runPeerNumpy(shapes: MatmulShape[], repeats: number, env: NodeJS.ProcessEnv): PeerRaw | string {
  const py = "/usr/bin/python3";
  if (!existsSync(py)) return "no /usr/bin/python3";
  const r = spawnSync(py, ["-c", PEER_PY, String(repeats), ...shapeArgs(shapes)], { encoding: "utf8", env, timeout: 600_000 });
  if (r.status !== 0) return `numpy peer failed: ${(r.stderr || "").trim().split("\n").pop()}`;
  return JSON.parse(r.stdout) as PeerRaw;
}

interface PeerRunner {
  via: string;
  run(shapes: MatmulShape[]): PeerRaw | string;
}

/** Finds a way to time OpenBLAS (C timer first, numpy second), or says why there is none. */
function preparePeer(repeats: number, threads: number): PeerRunner | string {
  // Same thread count as ours, for a like-for-like comparison.
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const probe: MatmulShape[] = [{ name: "probe", m: 8, n: 8, k: 8, transA: false, transB: false }];
  const c = runPeerC(probe, 1, env);
  if (typeof c !== "string") return { via: "cblas_sgemm through dlopen (C timer compiled on the fly)", run: (s) => runPeerC(s, repeats, env) };
  const py = runPeerNumpy(probe, 1, env);
  if (typeof py !== "string") return { via: "numpy float32 matmul", run: (s) => runPeerNumpy(s, repeats, env) };
  return `OpenBLAS unavailable: ${c}; ${py}`;
}

// ---------------------------------------------------------------------------------------------------------

export async function benchMatmul(opts: BenchMatmulOptions = {}): Promise<Record<string, unknown>> {
  const sizes = opts.sizes ?? [256, 512, 1024];
  const repeats = Math.max(1, Math.floor(opts.repeats ?? 7));
  const name = opts.backend ?? "native";
  const be = getBackend(name);
  const info = name === "native" ? nativeInfo() : null;
  const threads = info?.threads ?? be.threads;
  const shapes = opts.shapes === false ? [] : [...TRAINING_SHAPES];
  const all = [...sizes.map(square), ...shapes];

  const load0 = loadavg()[0];
  const runner = opts.peer === false ? "disabled (--no-peer)" : preparePeer(repeats, threads);
  // Ours and the peer alternate shape by shape, so on a shared machine both see about the same load.
  const ours: MatmulTiming[] = [];
  const theirs: MatmulTiming[] = [];
  let peerRaw: PeerRaw | null = null;
  let reason = typeof runner === "string" ? runner : "";
  for (const s of all) {
    ours.push(timeShape(be, s, repeats));
    if (typeof runner === "string" || reason) continue;
    const r = runner.run([s]);
    if (typeof r === "string") { reason = `peer failed on ${s.name}: ${r}`; continue; }
    peerRaw = r;
    theirs.push({ gflops_median: round((2 * s.m * s.n * s.k) / (r.results[0].ms * 1e6), 1), ms_median: round(r.results[0].ms, 4), runs: repeats });
  }

  const split = (t: MatmulTiming[]) => ({
    sizes: sizes.map((n, i) => ({ n, ...t[i] })),
    shapes: shapes.map((s, i) => ({ ...s, ...t[sizes.length + i] })),
  });
  const peer = !reason && peerRaw && typeof runner !== "string"
    ? {
        name: peerRaw.config ? peerRaw.config.trim() : peerRaw.library,
        library: peerRaw.library,
        core: peerRaw.core || undefined,
        via: runner.via,
        threads: peerRaw.threads ?? threads,
        ...split(theirs),
      }
    : null;
  return {
    backend: be.name,
    threads,
    simd: info?.simd ?? "js",
    ...split(ours),
    peer,
    ...(peer ? {} : { peer_reason: reason }),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? "", loadavg_1m_before: round(load0, 2), loadavg_1m_after: round(loadavg()[0], 2) },
  };
}
