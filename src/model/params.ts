/**
 * Parameter names, shapes and minGPT initialisation. Names are GPT-2/nanoGPT's so checkpoints load in Python;
 * weights are stored nn.Linear-style [out, in].
 */
import { Rng } from "../engine/rng.js";
import { Tensor, alloc } from "../engine/tensor.js";
import type { GPTConfig } from "./config.js";

/** Expected parameter shapes, in a stable order. */
export function parameterShapes(cfg: GPTConfig): Map<string, number[]> {
  const C = cfg.n_embd, V = cfg.vocab_size;
  const s = new Map<string, number[]>();
  s.set("transformer.wte.weight", [V, C]);
  if (cfg.pos === "learned") s.set("transformer.wpe.weight", [cfg.block_size, C]);
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}.`;
    s.set(p + "ln_1.weight", [C]);
    s.set(p + "ln_1.bias", [C]);
    s.set(p + "attn.c_attn.weight", [3 * C, C]);
    s.set(p + "attn.c_attn.bias", [3 * C]);
    s.set(p + "attn.c_proj.weight", [C, C]);
    s.set(p + "attn.c_proj.bias", [C]);
    // ln_2 is unused by the reference block but kept so the authors' state dicts map one to one.
    s.set(p + "ln_2.weight", [C]);
    s.set(p + "ln_2.bias", [C]);
    s.set(p + "mlp.c_fc.weight", [4 * C, C]);
    s.set(p + "mlp.c_fc.bias", [4 * C]);
    s.set(p + "mlp.c_proj.weight", [C, 4 * C]);
    s.set(p + "mlp.c_proj.bias", [C]);
  }
  s.set("transformer.ln_f.weight", [C]);
  s.set("transformer.ln_f.bias", [C]);
  s.set("lm_head.weight", [V, C]);
  return s;
}

/** True for parameters that get weight decay: matrices of Linear layers (incl. lm_head), not embeddings/LN/biases. */
export function decays(name: string): boolean {
  return name.endsWith(".weight") && !name.includes(".ln_") && !name.startsWith("transformer.ln_f") && !name.includes("wte") && !name.includes("wpe");
}

/**
 * minGPT init: Linear and Embedding weights N(0, 0.02), biases 0, LayerNorm (1, 0), and residual projections
 * (`c_proj`) N(0, 0.02/√(2·n_layer)) so the residual stream's variance does not grow with depth.
 */
export function initParameters(cfg: GPTConfig, seed: number): Map<string, Tensor> {
  const rng = new Rng(seed, 1);
  const params = new Map<string, Tensor>();
  for (const [name, shape] of parameterShapes(cfg)) {
    const t = new Tensor(alloc(shape.reduce((a, b) => a * b, 1)), shape, true);
    if (name.includes(".ln_") || name.startsWith("transformer.ln_f")) {
      if (name.endsWith(".weight")) t.data.fill(1);
    } else if (name.endsWith(".weight")) {
      const std = name.endsWith("c_proj.weight") ? 0.02 / Math.sqrt(2 * cfg.n_layer) : 0.02;
      rng.fillNormal(t.data, std);
    }
    params.set(name, t);
  }
  return params;
}

/** Fixed sinusoidal table [block_size, C]: sin on even dims, cos on odd, frequency 10000^(−2i/C). */
export function sinusoidalPositions(blockSize: number, C: number): Float32Array {
  const pe = alloc(blockSize * C);
  for (let pos = 0; pos < blockSize; pos++) {
    for (let i = 0; i < C / 2; i++) {
      const angle = pos / Math.pow(10000, (2 * i) / C);
      pe[pos * C + 2 * i] = Math.sin(angle);
      pe[pos * C + 2 * i + 1] = Math.cos(angle);
    }
  }
  return pe;
}

export function countParameters(params: Map<string, Tensor>): number {
  let n = 0;
  for (const t of params.values()) n += t.size;
  return n;
}
