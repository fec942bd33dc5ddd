/**
 * Times each mechanistic analysis on a random model of the `cpu` preset's size class (4 layers, width 128, MLP 4×,
 * text length 16) with n safe + n unsafe test inputs and as many reference inputs, as `nullspace analyze` runs them.
 * The "safety-tuned" model is the random one plus a low-rank update and noise in every matrix, so every analysis
 * has non-trivial work (ΔW is full rank, features differ). Also times the exact SVD on the matrix shapes involved.
 */
import { availableParallelism, loadavg } from "node:os";
import { backend } from "../engine/backend/index.js";
import { Rng } from "../engine/rng.js";
import { Tensor } from "../engine/tensor.js";
import { validateGPTConfig } from "../model/config.js";
import { GPT } from "../model/gpt.js";
import { runClustering } from "../analysis/clustering.js";
import { runColumnSpace } from "../analysis/columnspace.js";
import { jailbreakInputs, standardInputs } from "../analysis/inputs.js";
import { jailbreakTau } from "../analysis/jailbreaks.js";
import { runLipschitz } from "../analysis/lipschitz.js";
import { runRowSpace } from "../analysis/rowspace.js";
import { runSpectrum, spectrumEvolution } from "../analysis/spectrum.js";
import { svd, zerosMat } from "../analysis/linalg.js";
import { alphaSweep } from "../analysis/interventions.js";
import { median } from "./stats.js";

export interface BenchAnalyzeOptions {
  n_layer?: number;
  n_embd?: number;
  n_head?: number;
  textLength?: number;
  /** Test inputs per group (and reference inputs per group). */
  n?: number;
  /** SVD shapes to time, [m, n] (default 512×128 and 768×192; add [768, 768] for the square worst case). */
  svdShapes?: [number, number][];
}

function timed<T>(fn: () => T): { value: T; seconds: number } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** IT = random init; ST = IT + rank-4 update + noise in every matrix (scaled to ~5% of the weights). */
function randomPair(o: Required<Omit<BenchAnalyzeOptions, "svdShapes" | "n">>): { it: GPT; st: GPT } {
  const L = o.textLength;
  const cfg = validateGPTConfig({ n_layer: o.n_layer, n_head: o.n_head, n_embd: o.n_embd, vocab_size: 59, block_size: 3 * L + 9 });
  const it = new GPT(cfg, undefined, 0);
  const rng = new Rng(1, 3);
  const params = new Map<string, Tensor>();
  for (const [name, t] of it.params) {
    const d = t.data.slice();
    if (t.shape.length === 2) {
      const [m, n] = t.shape;
      for (let r = 0; r < 4; r++) {
        const u = Float64Array.from({ length: m }, () => rng.normal()), v = Float64Array.from({ length: n }, () => rng.normal());
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) d[i * n + j] += (0.02 / Math.sqrt(n)) * u[i] * v[j];
      }
      for (let i = 0; i < d.length; i++) d[i] += 0.001 * rng.normal();
    }
    params.set(name, new Tensor(d, t.shape, false));
  }
  return { it, st: new GPT(cfg, params) };
}

export async function benchAnalyze(opts: BenchAnalyzeOptions = {}): Promise<object> {
  const o = { n_layer: opts.n_layer ?? 4, n_embd: opts.n_embd ?? 128, n_head: opts.n_head ?? 4, textLength: opts.textLength ?? 16 };
  const n = opts.n ?? 400;
  const load = loadavg()[0];
  const { it, st } = randomPair(o);
  const models = [{ label: "IT", model: it }, { label: "ST", model: st }];
  const spec = { seed: 0, split: "test" as const, pcfgs: [1], textLength: { min: o.textLength, max: o.textLength } };
  const data = timed(() => standardInputs(spec, n, n));
  const seconds: Record<string, number> = { data_generation: data.seconds };
  const cl = timed(() => runClustering(models, data.value));
  seconds.clustering = cl.seconds;
  seconds.columnspace = timed(() => runColumnSpace(it, st)).seconds;
  seconds.rowspace = timed(() => runRowSpace(it, st, { safe: data.value.testSafe, unsafe: data.value.testUnsafe })).seconds;
  seconds.spectrum = timed(() => runSpectrum(it, st)).seconds;
  seconds.spectrum_evolution_5_checkpoints = timed(() => spectrumEvolution(it, [1, 2, 3, 4, 5].map((step) => ({ step, load: () => st })))).seconds;
  seconds.lipschitz = timed(() => runLipschitz(models, { safe: data.value.testSafe, unsafe: data.value.testUnsafe })).seconds;
  const jb = jailbreakInputs(spec, "jb_co_text", n);
  seconds.jailbreak_tau_one_set = timed(() => jailbreakTau("ST", st, cl.value.centroids.get("ST")!, [{ name: "jb_co_text", inputs: { sequences: jb } }])).seconds;
  const t0 = process.hrtime.bigint();
  await alphaSweep(it, st, () => ({ instruct: 0, null: 0, attack: 0 }), { alphas: [0, 0.5, 1, 1.5, 2, 2.5, 3] });
  seconds.interventions_weights_only_7_alphas = Number(process.hrtime.bigint() - t0) / 1e9;

  const rng = new Rng(2);
  const svdTimes = (opts.svdShapes ?? [[512, 128], [768, 192]]).map(([m, k]) => {
    const a = zerosMat(m, k);
    for (let i = 0; i < a.data.length; i++) a.data[i] = rng.normal();
    const runs = m * k > 300_000 ? 1 : 3;
    const withVec = median(Array.from({ length: runs }, () => timed(() => svd(a)).seconds));
    const valuesOnly = median(Array.from({ length: runs }, () => timed(() => svd(a, { vectors: false })).seconds));
    return { shape: `${m}x${k}`, seconds_with_vectors: withVec, seconds_values_only: valuesOnly, sweeps: svd(a, { vectors: false }).sweeps };
  });
  const round = (x: number) => Number(x.toFixed(3));
  return {
    model: { ...o, mlp: 4 * o.n_embd, vocab: 59 },
    n_per_group: n,
    reference_per_group: n,
    seconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, round(v)])),
    svd: svdTimes.map((s) => ({ ...s, seconds_with_vectors: round(s.seconds_with_vectors), seconds_values_only: round(s.seconds_values_only) })),
    backend: backend().name,
    threads: backend().threads,
    machine: { cpus: availableParallelism(), loadavg_1m_before: Number(load.toFixed(2)) },
  };
}
