/**
 * `nullspace bench train`: one full training step (forward + backward + clip + AdamW) of a minGPT on random
 * tokens, median over several steps after warm-up, with the identical PyTorch step (bench/torch_train.py) run in the
 * same invocation as the peer.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { backend } from "../engine/backend/index.js";
import { nativeInfo } from "../engine/backend/native.js";
import { AdamW } from "../engine/optim.js";
import { Rng } from "../engine/rng.js";
import { validateGPTConfig, type GPTConfig } from "../model/config.js";
import { GPT } from "../model/gpt.js";
import { meanCrossEntropy } from "../model/loss.js";
import { optimStep } from "../train/step.js";
import { median, timeMs } from "./stats.js";

export interface BenchTrainOptions {
  n_layer: number;
  n_head: number;
  n_embd: number;
  block: number;
  vocab: number;
  batch: number;
  steps: number;
  warmup: number;
  blockType: "reference" | "preln";
  /** Run the PyTorch peer (if /usr/bin/python3 has torch). */
  peer: boolean;
  repoRoot: string;
}

export const benchTrainDefaults = { n_layer: 4, n_head: 4, n_embd: 128, block: 96, vocab: 128, batch: 32, steps: 12, warmup: 3, blockType: "reference" as const, peer: true };

/** Matmul FLOPs of one step: 6·(matrix params)·tokens plus attention's QKᵀ and AV (×3 for backward). */
export function stepFlops(cfg: GPTConfig, B: number, T: number): number {
  const C = cfg.n_embd, L = cfg.n_layer;
  const matrixParams = L * 12 * C * C + cfg.vocab_size * C;
  const attn = L * 2 * 2 * B * T * T * C; // QKᵀ and AV, forward (full T×T; causal halves it in practice)
  return 6 * matrixParams * B * T + 3 * attn;
}

export async function benchTrain(o: BenchTrainOptions): Promise<Record<string, unknown>> {
  const cfg = validateGPTConfig({ n_layer: o.n_layer, n_head: o.n_head, n_embd: o.n_embd, vocab_size: o.vocab, block_size: o.block, block: o.blockType, pos: "pe" });
  const B = o.batch, T = o.block;
  const model = new GPT(cfg, undefined, 0);
  const opt = new AdamW(model.paramGroups(0.1), { lr: 3e-4, betas: [0.9, 0.95] });
  const rng = new Rng(1234);
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocab_size));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocab_size));
  const step = () => optimStep(model, opt, 3e-4, 1.0, () => meanCrossEntropy(model.forward({ tokens, B, T }), targets));
  for (let i = 0; i < o.warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < o.steps; i++) times.push(timeMs(step));
  const ms = median(times);
  const be = backend();
  const result: Record<string, unknown> = {
    tokens_per_s: Math.round((B * T) / (ms / 1000)),
    step_ms_median: +ms.toFixed(2),
    step_ms_all: times.map((t) => +t.toFixed(2)),
    gflops: +(stepFlops(cfg, B, T) / (ms / 1000) / 1e9).toFixed(1),
    backend: be.name,
    threads: be.threads,
    simd: be.name === "native" ? nativeInfo()?.simd ?? null : null,
    config: { n_layer: o.n_layer, n_head: o.n_head, n_embd: o.n_embd, block: o.block, vocab: o.vocab, batch: o.batch, block_type: o.blockType, steps: o.steps, warmup: o.warmup },
  };
  if (o.peer) {
    const peer = runTorchPeer(o);
    result.peer = peer;
    if (peer && typeof peer.tokens_per_s === "number") result.ratio_vs_peer = +((result.tokens_per_s as number) / peer.tokens_per_s).toFixed(2);
  }
  return result;
}

/**
 * Runs bench/torch_train.py under the thread settings that matter on small CPUs and keeps the best, so the
 * comparison is against PyTorch at its best here: (1 torch thread, OpenBLAS default threads), (1, OpenBLAS 1) and
 * (all cores, OpenBLAS 1) — their OpenMP and OpenBLAS pools fight otherwise (design.md §1).
 */
function runTorchPeer(o: BenchTrainOptions): Record<string, any> | null {
  const script = join(o.repoRoot, "bench", "torch_train.py");
  const py = "/usr/bin/python3";
  if (!existsSync(script) || !existsSync(py)) return { error: "bench/torch_train.py or /usr/bin/python3 missing" };
  const probe = spawnSync(py, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return { error: "PyTorch not installed (apt-get install -y python3-torch)" };
  const cores = availableParallelism();
  const settings: { threads: number; openblas: string | null }[] = [
    { threads: 1, openblas: null },
    { threads: 1, openblas: "1" },
    { threads: cores, openblas: "1" },
  ];
  const runs: Record<string, unknown>[] = [];
  for (const st of settings) {
    const args = [script, "--n-layer", `${o.n_layer}`, "--n-head", `${o.n_head}`, "--n-embd", `${o.n_embd}`, "--block", `${o.block}`, "--vocab", `${o.vocab}`, "--batch", `${o.batch}`, "--steps", `${o.steps}`, "--warmup", `${o.warmup}`, "--threads", `${st.threads}`, "--block-type", o.blockType];
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.OPENBLAS_NUM_THREADS;
    if (st.openblas) env.OPENBLAS_NUM_THREADS = st.openblas;
    const r = spawnSync(py, args, { encoding: "utf8", env, timeout: 600_000 });
    if (r.status !== 0) return { error: `torch peer failed: ${(r.stderr || "").trim().split("\n").pop()}` };
    const line = r.stdout.trim().split("\n").pop() ?? "";
    try {
      runs.push({ ...JSON.parse(line), openblas_num_threads_env: st.openblas ?? "default" });
    } catch {
      return { error: `torch peer printed no JSON: ${line.slice(0, 200)}` };
    }
  }
  const best = runs.reduce((a, b) => ((b.tokens_per_s as number) > (a.tokens_per_s as number) ? b : a));
  return { ...best, runs: runs.map((r) => ({ threads: r.threads, openblas: r.openblas_num_threads_env, tokens_per_s: r.tokens_per_s, step_ms_median: r.step_ms_median })) };
}
