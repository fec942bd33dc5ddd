/**
 * Seeded synthetic W_base / W_chat sources for the ΔW analysis's benchmark and tests: matrices generated on the
 * fly at any size (Llama-2 7B's [11008, 4096] and [4096, 11008] included) without a checkpoint.
 *
 * W_base has i.i.d. uniform entries of std 1/√cols (like an initialisation; full rank, κ ≈ 4 at 11008×4096).
 * W_chat = W_base + ΔW with ΔW = Σ_j σ_j u_j v_jᵀ (deltaRank random directions, σ_j ∝ 0.7^j) plus i.i.d. noise
 * holding a `noise` share of ‖ΔW‖_F², so the 90%-energy rank is modest. ‖ΔW‖_F = deltaScale·‖W_base‖_F.
 * Every load() regenerates its matrix from the seed (as a loader re-reads a shard), into a fresh array.
 */
import { backend } from "../engine/backend/index.js";
import { Rng } from "../engine/rng.js";
import type { MatrixSource } from "./deltaw.js";

export interface SyntheticPairOptions {
  seed?: number;
  /** Rank of the structured part of ΔW (default 8). */
  deltaRank?: number;
  /** ‖ΔW‖_F / ‖W_base‖_F (default 0.05). */
  deltaScale?: number;
  /** Share of ‖ΔW‖_F² that is i.i.d. noise (default 0.03). */
  noise?: number;
}

/** Uniform entries on [−√3·std, √3·std) (variance std²): cheaper than Box–Muller for 45M entries. */
function fillUniform(out: Float32Array, rng: Rng, std: number): Float32Array {
  const a = 2 * Math.sqrt(3) * std, b = Math.sqrt(3) * std;
  for (let i = 0; i < out.length; i++) out[i] = a * rng.uniform() - b;
  return out;
}

export function syntheticPair(rows: number, cols: number, opts: SyntheticPairOptions = {}): { base: MatrixSource; chat: MatrixSource; loads: { base: number; chat: number } } {
  const seed = opts.seed ?? 0, R = Math.min(opts.deltaRank ?? 8, rows, cols), scale = opts.deltaScale ?? 0.05, noise = opts.noise ?? 0.03;
  const loads = { base: 0, chat: 0 };
  const std = 1 / Math.sqrt(cols);
  const makeBase = () => fillUniform(new Float32Array(rows * cols), new Rng(seed, 1), std);
  // ‖W_base‖_F² ≈ rows·cols·std² = rows; the target energies of ΔW's parts follow from it.
  const deltaEnergy = (scale * scale) * rows;
  const sig = Array.from({ length: R }, (_, j) => 0.7 ** j);
  const sigSq = sig.reduce((s, x) => s + x * x, 0);
  const noiseStd = Math.sqrt((noise * deltaEnergy) / (rows * cols));
  return {
    loads,
    base: { rows, cols, load: () => (loads.base++, makeBase()) },
    chat: {
      rows,
      cols,
      load: () => {
        loads.chat++;
        const w = makeBase(); // [rows, cols]
        if (R > 0) {
          // u_j, v_j with unit expected norm; σ_j scaled so Σσ_j² = (1 − noise)·‖ΔW‖_F².
          const c = Math.sqrt(((1 - noise) * deltaEnergy) / sigSq);
          const u = fillUniform(new Float32Array(rows * R), new Rng(seed, 2), 1 / Math.sqrt(rows)); // [rows, R]
          const v = fillUniform(new Float32Array(R * cols), new Rng(seed, 3), 1 / Math.sqrt(cols)); // [R, cols]
          for (let i = 0; i < rows; i++) for (let j = 0; j < R; j++) u[i * R + j] *= c * sig[j];
          backend().sgemm(false, false, rows, cols, R, u, R, v, cols, 1, w, cols); // W += U·diag(σ)·V
        }
        if (noiseStd > 0) {
          const rng = new Rng(seed, 4);
          const a = 2 * Math.sqrt(3) * noiseStd, b = Math.sqrt(3) * noiseStd;
          for (let i = 0; i < w.length; i++) w[i] += a * rng.uniform() - b;
        }
        return w;
      },
    },
  };
}
