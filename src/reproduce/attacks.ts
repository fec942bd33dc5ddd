/**
 * The attack stage of the reproduction: a soft-token sweep over the number of inserted vectors on held-out unsafe
 * prompts for one safety-tuned model, and where its successful adversarial inputs fall against the model's
 * safe/unsafe activation clusters (Fig. 7 for attacks).
 */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { readAttackInputs } from "../attack/artifacts.js";
import { modelForLength } from "../attack/embed.js";
import { runSweep, type SweepRow } from "../attack/sweep.js";
import { softDefaults } from "../attack/types.js";
import { runClustering } from "../analysis/clustering.js";
import { standardInputs } from "../analysis/inputs.js";
import { jailbreakTau, strengthPlot, type TauGroup } from "../analysis/jailbreaks.js";
import { runDataSpec } from "../eval/run-eval.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { loadModel } from "../model/checkpoint.js";
import { writePlot } from "../plot/render.js";

export const ATTACK_TOKENS = [1, 2, 5, 10];

export interface AttackStageResult {
  rows: SweepRow[];
  /** Success rate is non-decreasing in the number of soft tokens (claim 8, attack strength); null when no point succeeded. */
  monotoneInTokens: boolean | null;
  /** Per strength: mean last-layer τ of successful adversarial inputs, and the unsafe/safe cluster means. */
  tau: { tokens: number; n: number; tau: number | null }[];
  tauSafe: number;
  tauUnsafe: number;
}

export async function attackStage(stDir: string, out: string, n: number, analysisN: number, steps = 10): Promise<AttackStageResult> {
  const sweep = await runSweep({
    models: [stDir], sets: ["std_unsafe"], tokens: ATTACK_TOKENS, steps: [steps], eps: [{ scale: 1 }], n,
    base: { method: "soft", ...softDefaults }, saveInputs: true, out,
  });
  const rows = [...sweep.rows].sort((a, b) => a.tokens - b.tokens);
  let monotone = true;
  for (let i = 1; i < rows.length; i++) if (rows[i].success.rate + 1e-12 < rows[i - 1].success.rate) monotone = false;
  // τ of successful adversarial inputs against this model's clusters.
  const st = loadModel(stDir);
  const data = standardInputs({ ...runDataSpec(stDir), split: "test" }, analysisN, analysisN);
  const cents = runClustering([{ label: "ST", model: st }], data).centroids.get("ST")!;
  const groups: TauGroup[] = [{ name: "safe", inputs: { sequences: data.testSafe } }, { name: "unsafe", inputs: { sequences: data.testUnsafe } }];
  let maxT = st.config.block_size;
  for (const r of rows) {
    const dir = join(out, "points", `${r.model}-std_unsafe-n${r.tokens}-s${r.steps}${r.eps !== null ? `-e${+r.eps.toPrecision(4)}` : ""}`);
    if (!existsSync(join(dir, "attack-inputs.safetensors"))) continue;
    const a = readAttackInputs(dir);
    if (!a.success.some(Boolean)) continue;
    groups.push({ name: `soft n=${r.tokens}`, family: "soft-token attack", strength: r.tokens, inputs: { embeds: a.embeds, starts: a.eot }, success: a.success });
    maxT = Math.max(maxT, a.embeds.shape[1]);
  }
  // Inserted slots lengthen the sequences past the trained block; a view with a longer block shares the weights.
  const tr = jailbreakTau("ST", modelForLength(st, maxT).model, cents, groups);
  await writePlot(out, "attack-tau", strengthPlot(tr));
  const last = (g: (typeof tr.groups)[number]) => g.layers[g.layers.length - 1]?.mean ?? NaN;
  const result: AttackStageResult = {
    rows, monotoneInTokens: rows.some((r) => r.success.rate > 0) ? monotone : null,
    tau: ATTACK_TOKENS.map((t) => {
      const g = tr.groups.find((x) => x.strength === t);
      return { tokens: t, n: g?.n ?? 0, tau: g && g.n > 0 ? last(g) : null };
    }),
    tauSafe: last(tr.groups[0]), tauUnsafe: last(tr.groups[1]),
  };
  writeJsonAtomic(join(out, "attacks.json"), { ...result, tau_groups: tr });
  return result;
}
