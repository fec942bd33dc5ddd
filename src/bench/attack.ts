/**
 * `nullspace bench attack`: attacked samples per second on the `cpu` preset's model shape (L = 16,
 * random weights: the work per step does not depend on what the model learned), for the soft-token attack (n = 2,
 * 10 steps, per item, no early stop, greedy scoring included) and GCG (n = 2, 2 steps, width 32). Median of repeats.
 */
import { backend } from "../engine/backend/index.js";
import { evalItems } from "../data/evalsets.js";
import { validateGPTConfig } from "../model/config.js";
import { pretrainPreset } from "../stages/presets.js";
import { GPT } from "../model/gpt.js";
import { runAttack, type AttackSpec } from "../attack/attack.js";
import { gcgDefaults, softDefaults } from "../attack/types.js";
import { median } from "./stats.js";

export interface BenchAttackOptions {
  items: number;
  repeats: number;
}

export async function benchAttack(o: Partial<BenchAttackOptions> = {}): Promise<object> {
  const N = o.items ?? 64, repeats = o.repeats ?? 3, L = 16;
  const cfg = validateGPTConfig(pretrainPreset("cpu").model); // its block fits L = 16
  const model = new GPT(cfg, undefined, 0);
  const items = evalItems({ seed: 0, split: "test", pcfgs: [1], textLength: { min: L, max: L } }, "std_unsafe", N);
  const specs: Record<string, AttackSpec> = {
    soft: { method: "soft", ...softDefaults, tokens: 2, steps: 10, earlyStop: false },
    soft_universal: { method: "soft", ...softDefaults, tokens: 2, steps: 10, earlyStop: false, universal: true },
    gcg: { method: "gcg", ...gcgDefaults, tokens: 2, steps: 2, searchWidth: 32, earlyStop: false },
  };
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const runs = Array.from({ length: repeats }, () => runAttack(model, items, spec).result);
    const sps = median(runs.map((r) => r.samples_per_s));
    const r = runs[0]!;
    out[name] = {
      samples_per_s: +sps.toFixed(1),
      attack_s_median: +median(runs.map((x) => x.attack_s)).toFixed(3),
      score_s_median: +median(runs.map((x) => x.score_s)).toFixed(3),
      tokens: r.tokens, steps: r.steps, ...(spec.method === "gcg" ? { search_width: spec.searchWidth, topk: spec.topk } : {}),
      extended_positions: r.extended_positions,
    };
  }
  const be = backend();
  return {
    unit: "attacked samples/s (attack + greedy scoring)",
    ...out,
    items: N,
    repeats,
    model: { n_layer: cfg.n_layer, n_head: cfg.n_head, n_embd: cfg.n_embd, block_size: cfg.block_size, text_length: L },
    backend: be.name,
    threads: be.threads,
  };
}
