/**
 * TransformerLens-style hook points. Every intermediate passes through `HookRunner.point(name, t)`, which lets a
 * caller cache it or replace it (patching). Names follow TransformerLens: `blocks.L.mlp.hook_post`, etc.
 */
import { UserError } from "../util/errors.js";
import type { Tensor } from "../engine/tensor.js";
import type { GPTConfig } from "./config.js";

/** A hook sees the activation and may return a replacement of the same shape. */
export type HookFn = (activation: Tensor, name: string) => Tensor | void;

/** Every hook point the model exposes, in forward order. */
export function hookNames(cfg: GPTConfig): string[] {
  const names = ["hook_embed", "hook_pos_embed"];
  for (let l = 0; l < cfg.n_layer; l++) {
    const b = `blocks.${l}.`;
    names.push(b + "hook_resid_pre", b + "ln1.hook_normalized", b + "attn.hook_pattern", b + "hook_attn_out", b + "hook_resid_mid");
    if (cfg.block === "preln") names.push(b + "ln2.hook_normalized");
    names.push(b + "mlp.hook_in", b + "mlp.hook_pre", b + "mlp.hook_post", b + "hook_mlp_out", b + "hook_resid_post");
  }
  names.push("ln_final.hook_normalized");
  return names;
}

/** What each hook holds, for --help texts and docs. */
export const hookDocs: Record<string, string> = {
  hook_embed: "token embeddings wte[tokens] (or the given input embeddings) [B, T, C]",
  hook_pos_embed: "position embeddings [T, C]",
  hook_resid_pre: "block input (residual stream) [B, T, C]",
  "ln1.hook_normalized": "LN1 output [B, T, C]",
  "attn.hook_pattern": "attention probabilities [B, H, T, T] (cache only)",
  hook_attn_out: "attention sublayer output after c_proj [B, T, C]",
  hook_resid_mid: "residual after attention: LN1(x)+attn for the reference block, x+attn for pre-LN [B, T, C]",
  "ln2.hook_normalized": "LN2 output (pre-LN block only) [B, T, C]",
  "mlp.hook_in": "the input of c_fc [B, T, C]",
  "mlp.hook_pre": "c_fc output (pre-activation) [B, T, 4C]",
  "mlp.hook_post": "GELU output [B, T, 4C]",
  hook_mlp_out: "MLP output after c_proj [B, T, C]",
  hook_resid_post: "block output [B, T, C]",
  "ln_final.hook_normalized": "final LayerNorm output [B, T, C]",
};

/** Routes hook points to user hooks; validates names up front so typos fail loudly. */
export class HookRunner {
  private readonly hooks: Map<string, HookFn[]>;

  constructor(cfg: GPTConfig, hooks: Iterable<[string, HookFn]> = []) {
    this.hooks = new Map();
    // Built only when hooks are given: every forward pass (training, generation) constructs a runner.
    let valid: Set<string> | null = null;
    for (const [name, fn] of hooks) {
      valid ??= new Set(hookNames(cfg));
      if (!valid.has(name)) throw new UserError(`unknown hook "${name}"; valid hooks: ${[...valid].filter((n) => !n.startsWith("blocks.") || n.startsWith("blocks.0.")).join(", ")} (blocks.0 … blocks.${cfg.n_layer - 1})`);
      const list = this.hooks.get(name) ?? [];
      list.push(fn);
      this.hooks.set(name, list);
    }
  }

  point(name: string, t: Tensor): Tensor {
    const fns = this.hooks.get(name);
    if (!fns) return t;
    let cur = t;
    for (const fn of fns) {
      const r = fn(cur, name);
      if (r) {
        if (r.size !== cur.size || r.shape.some((d, i) => d !== cur.shape[i])) {
          throw new RangeError(`hook "${name}" returned shape [${r.shape.join(", ")}], expected [${cur.shape.join(", ")}]`);
        }
        if (name.endsWith("hook_pattern")) throw new RangeError(`hook "${name}" is cache-only; patch hook_attn_out or the qkv inputs instead`);
        cur = r;
      }
    }
    return cur;
  }
}
