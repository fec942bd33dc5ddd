/**
 * Running an attack on a list of evaluation items and scoring it: the entry point shared by the CLI, the sweeps
 * and the benchmark.
 */
import type { EvalItem } from "../data/evalsets.js";
import { wilson } from "../eval/safety-eval.js";
import type { GPT } from "../model/gpt.js";
import { UserError } from "../util/errors.js";
import { foldPositions, modelForLength, vectorNorm } from "./embed.js";
import { gcgAttack } from "./gcg.js";
import { buildGroups, chunkGroups } from "./layout.js";
import { scoreGroup, type RowScore } from "./score.js";
import { softAttack } from "./soft.js";
import type { AttackOutput, AttackResult, GcgAttackOptions, ItemResult, SoftAttackOptions } from "./types.js";

export type AttackSpec = ({ method: "soft" } & SoftAttackOptions) | ({ method: "gcg" } & GcgAttackOptions);

function checkOptions(model: GPT, s: AttackSpec): void {
  const int = (name: string, v: number, lo: number, hi = 1 << 20) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new UserError(`${name} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  int("tokens", s.tokens, 1, 256);
  int("steps", s.steps, 0, 100_000);
  int("chunk", s.chunk, 1);
  if (s.method === "soft") {
    if (s.eps !== undefined && !(Number.isFinite(s.eps) && s.eps >= 0)) throw new UserError(`eps must be a finite number ≥ 0, got ${s.eps}`);
    if (s.lr !== undefined && !(Number.isFinite(s.lr) && s.lr >= 0)) throw new UserError(`lr must be a finite number ≥ 0, got ${s.lr}`);
    if (s.init !== "zero") int("init token", s.init, 0, model.config.vocab_size - 1);
  } else {
    int("topk", s.topk, 1);
    int("search width", s.searchWidth, 1);
    int("init token", s.initToken, 0, model.config.vocab_size - 1);
  }
}

/** Attacks `items` (any evaluation set) and scores the result. Deterministic for a given seed. */
export function runAttack(base: GPT, items: readonly EvalItem[], spec: AttackSpec): AttackOutput {
  if (items.length === 0) throw new UserError("attack: no items");
  checkOptions(base, spec);
  const N = items.length;
  const placeholder = spec.method === "gcg" ? spec.initToken : 0;
  if (spec.positions !== "keep" && spec.positions !== "shift") throw new UserError(`positions must be keep or shift, got ${String(spec.positions)}`);
  const groups = chunkGroups(buildGroups(items, spec.tokens, placeholder, spec.positions), spec.chunk);
  const maxLen = Math.max(...groups.map((g) => g.T));
  const { model, extended } = modelForLength(base, maxLen);
  const wasFrozen = [...base.params.values()].map((t) => t.requiresGrad);
  base.setRequiresGrad(false); // only δ (or the slot one-hots) get gradients
  const t0 = performance.now();
  let run;
  try {
    run = spec.method === "soft" ? softAttack(model, groups, N, spec) : gcgAttack(model, groups, N, spec);
  } finally {
    [...base.params.values()].forEach((t, i) => (t.requiresGrad = wasFrozen[i]!));
  }
  const t1 = performance.now();
  const scores = new Array<RowScore>(N);
  groups.forEach((g, gi) => scoreGroup(model, g, run.embeds[gi]!).forEach((s, b) => (scores[g.rows[b]!] = s)));
  const t2 = performance.now();

  const C = model.config.n_embd, n = spec.tokens;
  const itemsOut: ItemResult[] = items.map((it, r) => {
    const s = scores[r]!;
    const out: ItemResult = { index: it.index, L: it.L, success: s.success, refused: s.refused, tokenAcc: s.tokenAcc, teacherExact: s.teacherExact, loss: s.loss, stepsUsed: run.stepsUsed[r]!, output: s.output };
    const d = spec.universal ? 0 : r;
    if (spec.method === "soft") out.deltaNorms = Array.from({ length: n }, (_, j) => vectorNorm((run as { delta: Float32Array }).delta, (d * n + j) * C, C, spec.norm));
    else out.slotTokens = Array.from((run as { slotTokens: Int32Array }).slotTokens.subarray(d * n, (d + 1) * n));
    return out;
  });
  const k = (f: (s: RowScore) => boolean) => scores.filter(f).length;
  const finalLoss = scores.reduce((a, s) => a + s.loss, 0) / N;
  const result: AttackResult = {
    method: spec.method,
    n_items: N,
    tokens: n,
    steps: spec.steps,
    universal: spec.universal,
    seed: spec.seed,
    early_stop: spec.earlyStop,
    positions: spec.positions,
    success: wilson(k((s) => s.success), N),
    refusal: wilson(k((s) => s.refused), N),
    token_acc: scores.reduce((a, s) => a + s.tokenAcc, 0) / N,
    teacher_exact: k((s) => s.teacherExact) / N,
    loss_curve: [...run.lossCurve, finalLoss],
    extended_positions: extended && spec.positions === "shift",
    block_size: base.config.block_size,
    max_len: maxLen,
    attack_s: (t1 - t0) / 1000,
    score_s: (t2 - t1) / 1000,
    samples_per_s: N / ((t2 - t0) / 1000),
    items: itemsOut,
  };
  if (spec.method === "soft" && "settings" in run) {
    result.soft = { ...run.settings, norm: spec.norm, init: spec.init, init_std: spec.initStd };
  } else if (spec.method === "gcg" && "allowed" in run) {
    result.gcg = { topk: spec.topk, search_width: spec.searchWidth, init_token: spec.initToken, allowed_tokens: run.allowed.length };
  }
  const plainEmbeds = spec.positions === "shift" ? run.embeds : groups.map((g, gi) => foldPositions(model, run.embeds[gi]!, g.B, g.T, g.positions));
  const output: AttackOutput = { result, groups, embeds: run.embeds, plainEmbeds };
  if ("delta" in run) output.delta = run.delta;
  if ("slotTokens" in run) output.slotTokens = run.slotTokens;
  return output;
}
