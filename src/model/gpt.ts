/**
 * minGPT with hook points. One instrumented model serves training, evaluation, attacks and analyses.
 */
import { attention, embedding, gelu, layerNorm, linear } from "../engine/ops/nn.js";
import { add, addTiled } from "../engine/ops/elementwise.js";
import { Tensor, noGrad } from "../engine/tensor.js";
import { UserError } from "../util/errors.js";
import type { GPTConfig } from "./config.js";
import { HookRunner, hookNames, type HookFn } from "./hooks.js";
import { countParameters, decays, initParameters, parameterShapes, sinusoidalPositions } from "./params.js";

/** Either token ids [B, T] or input embeddings [B, T, C] (token embeddings, before positions are added). */
export type ModelInput = { tokens: Int32Array; B: number; T: number } | { embeds: Tensor };

export interface ForwardOptions {
  /** Extra attention mask [B, T, T], 1 = may attend, applied on top of causality. */
  mask?: Uint8Array | null;
  /** Hooks to call: [name, fn] pairs (several per name allowed). */
  hooks?: Iterable<[string, HookFn]>;
}

export class GPT {
  readonly config: GPTConfig;
  readonly params: Map<string, Tensor>;
  private readonly pe: Float32Array | null;

  constructor(config: GPTConfig, params?: Map<string, Tensor>, seed = 0) {
    this.config = config;
    this.params = params ?? initParameters(config, seed);
    const expected = parameterShapes(config);
    for (const [name, shape] of expected) {
      const t = this.params.get(name);
      if (!t) throw new UserError(`model: missing parameter "${name}"`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new UserError(`model: parameter "${name}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
      }
    }
    for (const name of this.params.keys()) if (!expected.has(name)) throw new UserError(`model: unexpected parameter "${name}"`);
    this.pe = config.pos === "pe" ? sinusoidalPositions(config.block_size, config.n_embd) : null;
  }

  p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`no parameter ${name}`);
    return t;
  }

  get numParameters(): number {
    return countParameters(this.params);
  }

  hookNames(): string[] {
    return hookNames(this.config);
  }

  /** Parameter groups for AdamW: matrices decay, embeddings / LayerNorm / biases do not. */
  paramGroups(weightDecay: number): { params: { name: string; tensor: Tensor }[]; weightDecay: number }[] {
    const dec: { name: string; tensor: Tensor }[] = [], nodec: { name: string; tensor: Tensor }[] = [];
    for (const [name, tensor] of this.params) (decays(name) ? dec : nodec).push({ name, tensor });
    return [{ params: dec, weightDecay }, { params: nodec, weightDecay: 0 }];
  }

  /** Freezes (or unfreezes) all parameters: frozen models record no tape (reference models, attacks). */
  setRequiresGrad(flag: boolean): void {
    for (const t of this.params.values()) t.requiresGrad = flag;
  }

  /** Token embeddings wte[tokens] as a fresh leaf [B, T, C] (the starting point of embedding-space attacks). */
  embedTokens(tokens: Int32Array, B: number, T: number): Tensor {
    const e = noGrad(() => embedding(this.p("transformer.wte.weight"), tokens, [B, T]));
    return new Tensor(e.data, e.shape, false);
  }

  /** logits [B, T, V]. */
  forward(input: ModelInput, opts: ForwardOptions = {}): Tensor {
    const cfg = this.config;
    const hk = new HookRunner(cfg, opts.hooks ?? []);
    let B: number, T: number, tok: Tensor;
    if ("tokens" in input) {
      ({ B, T } = input);
      if (input.tokens.length !== B * T) throw new RangeError(`forward: ${input.tokens.length} tokens for B·T = ${B * T}`);
      tok = embedding(this.p("transformer.wte.weight"), input.tokens, [B, T]); // [B, T, C]
    } else {
      tok = input.embeds;
      if (tok.shape.length !== 3 || tok.shape[2] !== cfg.n_embd) throw new RangeError(`forward: embeds must be [B, T, ${cfg.n_embd}]`);
      [B, T] = tok.shape;
    }
    if (T > cfg.block_size) throw new UserError(`sequence length ${T} exceeds block_size ${cfg.block_size}`);
    const C = cfg.n_embd;
    tok = hk.point("hook_embed", tok);
    let pos: Tensor;
    if (this.pe) pos = new Tensor(this.pe.subarray(0, T * C), [T, C]);
    else pos = embedding(this.p("transformer.wpe.weight"), Int32Array.from({ length: T }, (_, i) => i), [T]);
    pos = hk.point("hook_pos_embed", pos);
    let x = addTiled(tok, pos); // [B, T, C]
    for (let l = 0; l < cfg.n_layer; l++) x = this.block(l, x, hk, opts.mask ?? null);
    x = layerNorm(x, this.p("transformer.ln_f.weight"), this.p("transformer.ln_f.bias"));
    x = hk.point("ln_final.hook_normalized", x);
    return linear(x, this.p("lm_head.weight"), null); // [B, T, V]
  }

  private block(l: number, x: Tensor, hk: HookRunner, mask: Uint8Array | null): Tensor {
    const p = (n: string) => this.p(`transformer.h.${l}.${n}`);
    const b = `blocks.${l}.`;
    x = hk.point(b + "hook_resid_pre", x);
    const h = hk.point(b + "ln1.hook_normalized", layerNorm(x, p("ln_1.weight"), p("ln_1.bias")));
    const qkv = linear(h, p("attn.c_attn.weight"), p("attn.c_attn.bias")); // [B, T, 3C]
    const att = attention(qkv, this.config.n_head, mask);
    hk.point(b + "attn.hook_pattern", att.pattern); // [B, H, T, T]
    const a = hk.point(b + "hook_attn_out", linear(att.out, p("attn.c_proj.weight"), p("attn.c_proj.bias")));
    // The reference block continues the residual stream from the *normalised* input (ln_2 unused).
    const mid = hk.point(b + "hook_resid_mid", add(this.config.block === "reference" ? h : x, a));
    let mlpIn = mid;
    if (this.config.block === "preln") mlpIn = hk.point(b + "ln2.hook_normalized", layerNorm(mid, p("ln_2.weight"), p("ln_2.bias")));
    mlpIn = hk.point(b + "mlp.hook_in", mlpIn);
    const pre = hk.point(b + "mlp.hook_pre", linear(mlpIn, p("mlp.c_fc.weight"), p("mlp.c_fc.bias"))); // [B, T, 4C]
    const post = hk.point(b + "mlp.hook_post", gelu(pre));
    const m = hk.point(b + "hook_mlp_out", linear(post, p("mlp.c_proj.weight"), p("mlp.c_proj.bias")));
    return hk.point(b + "hook_resid_post", add(mid, m));
  }

  /**
   * Forward pass that caches activations (TransformerLens `run_with_cache`). `namesFilter` is a list of hook names
   * or a predicate; by default everything is cached. Cached tensors are the live activations (do not mutate).
   */
  runWithCache(input: ModelInput, opts: { namesFilter?: string[] | ((name: string) => boolean); mask?: Uint8Array | null } = {}): { logits: Tensor; cache: Map<string, Tensor> } {
    const all = this.hookNames();
    const f = opts.namesFilter;
    const names = f === undefined ? all : Array.isArray(f) ? f : all.filter(f);
    const cache = new Map<string, Tensor>();
    const hooks: [string, HookFn][] = names.map((n) => [n, (t: Tensor) => { cache.set(n, t); }]);
    const logits = this.forward(input, { hooks, mask: opts.mask });
    return { logits, cache };
  }

  /** Forward pass with hooks that may replace activations (TransformerLens `run_with_hooks`). */
  runWithHooks(input: ModelInput, fwdHooks: Iterable<[string, HookFn]>, opts: { mask?: Uint8Array | null } = {}): Tensor {
    return this.forward(input, { hooks: fwdHooks, mask: opts.mask });
  }
}
