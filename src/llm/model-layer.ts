/**
 * One Llama decoder layer, split into its two sublayers so the driver can hold only one sublayer's weights at a
 * time: attention (RMSNorm → q/k/v → RoPE → causal GQA → o_proj) and SwiGLU MLP (RMSNorm → gate/up →
 * silu(gate)⊙up → down_proj). Each works in place on a chunk of the residual stream [n, D] holding several
 * prompts back to back; every matmul goes through the backend's native kernels.
 */
import type { Backend } from "../engine/backend/types.js";
import type { LlamaCheckpoint } from "./checkpoint.js";
import type { LlamaConfig } from "./config.js";
import { applyRope, type RopeTable } from "./model-rope.js";

/** Receives a chunk's activation [n, width] under a hook name (only called for wanted hooks). */
export type Recorder = (hook: string, act: Float32Array, width: number) => void;

export interface AttnWeights {
  ln: Float32Array; // [D]
  q: Float32Array; // [H·hd, D]
  k: Float32Array; // [KV·hd, D]
  v: Float32Array; // [KV·hd, D]
  o: Float32Array; // [D, H·hd]
}

export interface MlpWeights {
  ln: Float32Array; // [D]
  gate: Float32Array; // [I, D]
  up: Float32Array; // [I, D]
  down: Float32Array; // [D, I]
}

export function loadAttn(ck: LlamaCheckpoint, l: number): AttnWeights {
  const p = `model.layers.${l}.`;
  return {
    ln: ck.read(p + "input_layernorm.weight"),
    q: ck.read(p + "self_attn.q_proj.weight"),
    k: ck.read(p + "self_attn.k_proj.weight"),
    v: ck.read(p + "self_attn.v_proj.weight"),
    o: ck.read(p + "self_attn.o_proj.weight"),
  };
}

export function loadMlp(ck: LlamaCheckpoint, l: number): MlpWeights {
  const p = `model.layers.${l}.`;
  return {
    ln: ck.read(p + "post_attention_layernorm.weight"),
    gate: ck.read(p + "mlp.gate_proj.weight"),
    up: ck.read(p + "mlp.up_proj.weight"),
    down: ck.read(p + "mlp.down_proj.weight"),
  };
}

/** out[n, D] = x·rsqrt(mean(x²) + eps)·w per row (HF LlamaRMSNorm; the mean is accumulated in float64). */
export function rmsNorm(out: Float32Array, x: Float32Array, w: Float32Array, n: number, D: number, eps: number): void {
  for (let r = 0; r < n; r++) {
    const o = r * D;
    let ss = 0;
    for (let c = 0; c < D; c++) ss += x[o + c]! * x[o + c]!;
    const s = Math.fround(1 / Math.sqrt(ss / D + eps));
    for (let c = 0; c < D; c++) out[o + c] = w[c]! * Math.fround(x[o + c]! * s);
  }
}

/** Grow-only scratch buffers, shared by all chunks and layers of one run. */
export class Scratch {
  private bufs = new Map<string, Float32Array>();
  get(key: string, n: number): Float32Array {
    let b = this.bufs.get(key);
    if (!b || b.length < n) {
      b = new Float32Array(n);
      this.bufs.set(key, b);
    }
    return b.subarray(0, n);
  }
}

export interface ChunkCtx {
  be: Backend;
  cfg: LlamaConfig;
  rope: RopeTable;
  scratch: Scratch;
  /** Token counts of the chunk's prompts, in order; Σ = n. */
  lens: readonly number[];
  /** Called for every hook point; the driver ignores the ones nobody asked for. */
  rec: Recorder;
}

/** x [n, D] += attn(RMSNorm(x)) for layer `l`; records ln1, q/k/v (before RoPE, as TransformerLens), attn_out, resid_mid. */
export function attnSublayer(ctx: ChunkCtx, l: number, w: AttnWeights, x: Float32Array, n: number): void {
  const { be, cfg, scratch: s, lens } = ctx;
  const D = cfg.hiddenSize, H = cfg.numHeads, KV = cfg.numKvHeads, hd = cfg.headDim;
  const b = `blocks.${l}.`;
  const h = s.get("h", n * D); // [n, D]
  rmsNorm(h, x, w.ln, n, D, cfg.rmsNormEps);
  ctx.rec(b + "ln1.hook_normalized", h, D);
  const q = s.get("q", n * H * hd); // [n, H·hd]
  const k = s.get("k", n * KV * hd); // [n, KV·hd]
  const v = s.get("v", n * KV * hd); // [n, KV·hd]
  be.linearForward(q, h, w.q, null, n, D, H * hd);
  be.linearForward(k, h, w.k, null, n, D, KV * hd);
  be.linearForward(v, h, w.v, null, n, D, KV * hd);
  ctx.rec(b + "attn.hook_q", q, H * hd);
  ctx.rec(b + "attn.hook_k", k, KV * hd);
  ctx.rec(b + "attn.hook_v", v, KV * hd);
  const z = s.get("z", n * H * hd); // [n, H·hd]
  let row = 0;
  for (const T of lens) {
    // Each prompt is its own sequence: positions restart at 0 and attention never crosses prompts.
    const qs = q.subarray(row * H * hd, (row + T) * H * hd);
    const ks = k.subarray(row * KV * hd, (row + T) * KV * hd);
    applyRope(qs, T, H, hd, ctx.rope);
    applyRope(ks, T, KV, hd, ctx.rope);
    causalGqa(be, s, z.subarray(row * H * hd, (row + T) * H * hd), qs, ks, v.subarray(row * KV * hd, (row + T) * KV * hd), T, H, KV, hd);
    row += T;
  }
  const a = s.get("a", n * D); // [n, D]
  be.linearForward(a, z, w.o, null, n, H * hd, D);
  ctx.rec(b + "hook_attn_out", a, D);
  be.add(x, x, a, n * D);
  ctx.rec(b + "hook_resid_mid", x, D);
}

/**
 * z [T, H·hd] = softmax(q_h k_gᵀ/√hd + causal) v_g per query head h, with kv head g = ⌊h / (H/KV)⌋ (HF's repeat_kv
 * order). q [T, H·hd], k and v [T, KV·hd]; heads are column slices, addressed through sgemm's leading dimensions.
 */
function causalGqa(be: Backend, s: Scratch, z: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, T: number, H: number, KV: number, hd: number): void {
  const rep = H / KV;
  const scale = 1 / Math.sqrt(hd);
  const p = s.get("scores", T * T); // [T, T]
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    be.sgemm(false, true, T, T, hd, q.subarray(h * hd), H * hd, k.subarray(g * hd), KV * hd, 0, p, T);
    for (let t = 0; t < T; t++) {
      const r = t * T;
      let max = -Infinity;
      for (let u = 0; u <= t; u++) {
        const val = p[r + u]! * scale;
        p[r + u] = val;
        if (val > max) max = val;
      }
      let sum = 0;
      for (let u = 0; u <= t; u++) {
        const e = Math.exp(p[r + u]! - max);
        p[r + u] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let u = 0; u <= t; u++) p[r + u]! *= inv;
      p.fill(0, r + t + 1, r + T); // future positions
    }
    be.sgemm(false, false, T, hd, T, p, T, v.subarray(g * hd), KV * hd, 0, z.subarray(h * hd), H * hd);
  }
}

/** x [n, D] += down(silu(gate(h)) ⊙ up(h)), h = RMSNorm(x); records ln2, mlp.hook_in/pre/post, mlp_out, resid_post. */
export function mlpSublayer(ctx: ChunkCtx, l: number, w: MlpWeights, x: Float32Array, n: number): void {
  const { be, cfg, scratch: s } = ctx;
  const D = cfg.hiddenSize, I = cfg.intermediateSize;
  const b = `blocks.${l}.`;
  const h = s.get("h", n * D); // [n, D]
  rmsNorm(h, x, w.ln, n, D, cfg.rmsNormEps);
  ctx.rec(b + "ln2.hook_normalized", h, D);
  ctx.rec(b + "mlp.hook_in", h, D);
  const g = s.get("gate", n * I); // [n, I]
  const u = s.get("up", n * I); // [n, I]
  be.linearForward(g, h, w.gate, null, n, D, I);
  ctx.rec(b + "mlp.hook_pre", g, I);
  be.linearForward(u, h, w.up, null, n, D, I);
  for (let i = 0; i < n * I; i++) {
    const a = g[i]!;
    g[i] = (a / (1 + Math.exp(-a))) * u[i]!; // silu(gate)·up, overwriting gate
  }
  ctx.rec(b + "mlp.hook_post", g, I);
  const m = s.get("m", n * D); // [n, D]
  be.linearForward(m, g, w.down, null, n, I, D);
  ctx.rec(b + "hook_mlp_out", m, D);
  be.add(x, x, m, n * D);
  ctx.rec(b + "hook_resid_post", x, D);
}
