/** minGPT configuration (names as nanoGPT/minGPT). */
import { UserError } from "../util/errors.js";

export interface GPTConfig {
  n_layer: number;
  n_head: number;
  n_embd: number;
  vocab_size: number;
  /** Maximum sequence length the model sees (the reference uses 159 = 160 − 1 after the LM shift). */
  block_size: number;
  /**
   * "reference": the authors' block, h = LN1(x); h = h + attn(h); out = h + mlp(h) (ln_2 exists, unused).
   * "preln": the standard GPT-2 block, x = x + attn(LN1(x)); x = x + mlp(LN2(x)).
   */
  block: "reference" | "preln";
  /** "pe": fixed sinusoidal positions (the reference default); "learned": a trained wpe table. */
  pos: "pe" | "learned";
}

export const defaultGPTConfig: GPTConfig = {
  n_layer: 6,
  n_head: 6,
  n_embd: 192,
  vocab_size: 59,
  block_size: 159,
  block: "reference",
  pos: "pe",
};

/** Validates a (possibly user-supplied) config, naming the offending field. `where` names the source. */
export function validateGPTConfig(raw: unknown, where = "config"): GPTConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UserError(`${where}: expected a JSON object with the model config`);
  const r = raw as Record<string, unknown>;
  const cfg = { ...defaultGPTConfig } as Record<string, unknown>;
  for (const key of Object.keys(defaultGPTConfig) as (keyof GPTConfig)[]) {
    if (r[key] !== undefined) cfg[key] = r[key];
  }
  for (const key of ["n_layer", "n_head", "n_embd", "vocab_size", "block_size"] as const) {
    const v = cfg[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 1 << 20) throw new UserError(`${where}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (cfg.block !== "reference" && cfg.block !== "preln") throw new UserError(`${where}: "block" must be "reference" or "preln", got ${JSON.stringify(cfg.block)}`);
  if (cfg.pos !== "pe" && cfg.pos !== "learned") throw new UserError(`${where}: "pos" must be "pe" or "learned", got ${JSON.stringify(cfg.pos)}`);
  const c = cfg as unknown as GPTConfig;
  if (c.n_embd % c.n_head !== 0) throw new UserError(`${where}: "n_embd" (${c.n_embd}) must be divisible by "n_head" (${c.n_head})`);
  if (c.pos === "pe" && c.n_embd % 2 !== 0) throw new UserError(`${where}: sinusoidal positions need an even "n_embd"`);
  return c;
}
