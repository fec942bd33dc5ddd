/**
 * Attack-strength sweeps: success against steps, one line per number of slots n, panels per ε / set and per model.
 * Writes sweep.json (one row per point) and sweep.svg + sweep.vl.json.
 */
import { basename, join } from "node:path";
import { mkdirSync } from "node:fs";
import { checkEvalSet } from "../data/evalsets.js";
import { writeJsonAtomic } from "../io/atomic.js";
import type { Rate } from "../eval/safety-eval.js";
import { writePlot } from "../plot/render.js";
import { VL_SCHEMA, type VlSpec } from "../plot/render.js";
import { UserError } from "../util/errors.js";
import { runAttack, type AttackSpec } from "./attack.js";
import { writeAttackArtifacts } from "./artifacts.js";
import { defaultEps } from "./embed.js";
import { attackItems, loadRun } from "./run.js";

/** A radius: absolute, or a multiple of the model's default (written "2x"). */
export type EpsValue = { abs: number } | { scale: number };

export function parseEps(s: string): EpsValue {
  const t = s.trim();
  const m = /^([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)x$/i.exec(t);
  const v = Number(m ? m[1] : t);
  if (t === "" || !Number.isFinite(v) || v < 0) throw new UserError(`--eps: "${s}" is not a radius (a number ≥ 0, or a multiple of the default such as 2x)`);
  return m ? { scale: v } : { abs: v };
}

export interface SweepOptions {
  models: string[];
  sets: string[];
  tokens: number[];
  steps: number[];
  /** Soft only; default [1x]. */
  eps: EpsValue[];
  n: number;
  length?: number;
  /** Everything but tokens, steps and eps. */
  base: AttackSpec;
  /** Also write each point's attack artifacts under <out>/points/. */
  saveInputs?: boolean;
  out: string;
  onPoint?: (row: SweepRow) => void;
}

export interface SweepRow {
  model: string;
  set: string;
  method: string;
  tokens: number;
  steps: number;
  eps: number | null;
  eps_scale: number | null;
  success: Rate;
  refusal: Rate;
  token_acc: number;
  loss_final: number;
  extended_positions: boolean;
  samples_per_s: number;
}

export interface SweepResult {
  method: string;
  n_items: number;
  universal: boolean;
  norm: string | null;
  rows: SweepRow[];
}

/** A short label per model directory (its base name; the parent too when base names collide). */
function labels(dirs: string[]): string[] {
  const b = dirs.map((d) => basename(d.replace(/\/+$/, "")));
  return b.map((x, i) => (b.indexOf(x) !== b.lastIndexOf(x) ? `${basename(join(dirs[i]!, ".."))}/${x}` : x));
}

export async function runSweep(o: SweepOptions): Promise<SweepResult & { files: { json: string; svg: string; spec: string } }> {
  for (const s of o.sets) checkEvalSet(s);
  if (!o.models.length || !o.tokens.length || !o.steps.length) throw new UserError("sweep: need at least one model, token count and step count");
  const soft = o.base.method === "soft";
  const epsList = soft ? (o.eps.length ? o.eps : [{ scale: 1 }]) : [null];
  const names = labels(o.models);
  const rows: SweepRow[] = [];
  mkdirSync(o.out, { recursive: true });
  for (const [mi, dir] of o.models.entries()) {
    const run = loadRun(dir);
    for (const set of o.sets) {
      const items = attackItems(run.spec, checkEvalSet(set), o.n, o.length);
      for (const e of epsList) {
        for (const tokens of o.tokens) {
          for (const steps of o.steps) {
            const spec: AttackSpec = { ...o.base, tokens, steps } as AttackSpec;
            let eps: number | null = null, scale: number | null = null;
            if (spec.method === "soft" && e) {
              const d = defaultEps(run.model, spec.norm);
              eps = "abs" in e ? e.abs : e.scale * d;
              scale = eps / d;
              spec.eps = eps;
            }
            const out = runAttack(run.model, items, spec);
            out.result.set = set;
            out.result.model = dir;
            if (o.saveInputs) writeAttackArtifacts(join(o.out, "points", `${names[mi]}-${set}-n${tokens}-s${steps}${eps !== null ? `-e${+eps.toPrecision(4)}` : ""}`), out);
            const r = out.result;
            const row: SweepRow = {
              model: names[mi]!, set, method: r.method, tokens, steps, eps, eps_scale: scale === null ? null : +scale.toPrecision(6),
              success: r.success, refusal: r.refusal, token_acc: r.token_acc, loss_final: r.loss_curve[r.loss_curve.length - 1]!,
              extended_positions: r.extended_positions, samples_per_s: r.samples_per_s,
            };
            rows.push(row);
            o.onPoint?.(row);
          }
        }
      }
    }
  }
  const result: SweepResult = { method: o.base.method, n_items: o.n, universal: o.base.universal, norm: o.base.method === "soft" ? o.base.norm : null, rows };
  const json = join(o.out, "sweep.json");
  writeJsonAtomic(json, result);
  const files = await writePlot(o.out, "sweep", sweepSpec(result));
  return { ...result, files: { json, ...files } };
}

/** Success vs steps, one line per n; panels: models side by side, and one row per set × ε where those vary. */
export function sweepSpec(r: SweepResult): VlSpec {
  const epsLabel = (x: SweepRow) => (x.eps === null ? "" : x.eps_scale !== null ? `ε = ${x.eps_scale}× default` : `ε = ${x.eps}`);
  const many = (f: (x: SweepRow) => unknown) => new Set(r.rows.map(f)).size > 1;
  const multiSet = many((x) => x.set), multiEps = many(epsLabel), multiModel = many((x) => x.model);
  const data = r.rows.map((x) => {
    const panel = [multiSet ? x.set : "", multiEps ? epsLabel(x) : ""].filter(Boolean).join(", ");
    return { steps: x.steps, success: x.success.rate, lo: x.success.lo, hi: x.success.hi, series: `n = ${x.tokens}`, panel, model: x.model };
  });
  const eps = !multiEps && r.rows[0] && r.rows[0].eps !== null ? `, ${epsLabel(r.rows[0])}` : "";
  const title = `${r.method === "soft" ? `soft-token attack (${r.norm}${r.universal ? ", universal" : ""}${eps})` : `GCG${r.universal ? " (universal)" : ""}`}: success vs steps, ${r.n_items} items`;
  const facets = multiModel ? { column: "model", ...(multiSet || multiEps ? { row: "panel" } : {}) } : multiSet || multiEps ? { column: "panel" } : {};
  const x = { field: "steps", type: "quantitative", title: "attack steps" };
  const color = { field: "series", type: "nominal", title: null, sort: [...new Set(data.map((d) => d.series))] };
  // Stacked rows repeat the y title, so it must be short there.
  const y = { field: "success", type: "quantitative", title: "row" in facets ? "success" : "attack success (greedy exact match)", scale: { domain: [0, 1] } };
  const inner = {
    width: 180, height: 150,
    layer: [
      // 95% Wilson interval of each point.
      { mark: { type: "area", opacity: 0.15 }, encoding: { x, y: { field: "lo", type: "quantitative", scale: { domain: [0, 1] }, title: y.title }, y2: { field: "hi" }, color } },
      { mark: { type: "line", point: true }, encoding: { x, y, color } },
    ],
  };
  const facet: Record<string, unknown> = {};
  // Panels in the order given (models as listed on the command line).
  for (const [k, f] of Object.entries(facets)) {
    // Row labels go on the right, clear of the y-axis title.
    const header = k === "row" ? { header: { labelOrient: "right", labelAngle: 0, labelAlign: "left" } } : {};
    facet[k] = { field: f, type: "nominal", title: null, sort: [...new Set(data.map((d) => d[f as "model" | "panel"]))], ...header };
  }
  const base = { $schema: VL_SCHEMA, title, data: { values: data } };
  return Object.keys(facet).length ? { ...base, facet, spec: inner } : { ...base, ...inner };
}
