/**
 * Presentation of streamed ΔW results (deltaw.ts): the Fig. 4-style plot (a Vega-Lite spec, rendered to SVG by
 * src/plot), a Markdown table for the report, and a one-line summary for the CLI.
 */
import type { VlSpec } from "../plot/render.js";
import { sortedScatterSpec } from "../plot/specs.js";
import type { DeltaWResult } from "./deltaw.js";

const layerLabel = (r: DeltaWResult) => (r.layer === null ? "layer ?" : `layer ${r.layer}`);
const sideLabel = (r: DeltaWResult) => (r.side === "left" ? "u → N(W_baseᵀ)" : "v → N(W_base)");
const matrixLabel = (r: DeltaWResult) => `${r.matrix ?? `${r.shape[0]}×${r.shape[1]}`} (${sideLabel(r)})`;

/**
 * Sorted projections onto the null space of W_base, one panel per layer (columns) and matrix (rows), with the
 * analytic and sampled random baselines as rules, like columnSpacePlot for the synthetic models.
 */
export function deltaWPlot(results: readonly DeltaWResult[], title = "Projection of ΔW's top singular vectors onto the null space of W_base"): VlSpec {
  const rows: Record<string, unknown>[] = [], baselines: Record<string, unknown>[] = [];
  for (const r of results) {
    const facet = { layer: layerLabel(r), matrix: matrixLabel(r) };
    [...r.projection].sort((a, b) => a - b).forEach((value, rank) => rows.push({ ...facet, rank, value, series: r.capped ? `ΔW singular vectors (top ${r.k}, capped)` : "ΔW singular vectors" }));
    baselines.push({ ...facet, value: r.baselineAnalytic, label: "random √((m−r)/m)" });
    if (r.baselineSampled.n > 0) baselines.push({ ...facet, value: r.baselineSampled.mean, label: "random (sampled)" });
  }
  return sortedScatterSpec({ title, rows, baselines, yTitle: "‖projection‖", yDomain: [0, 1], column: "layer", row: "matrix", width: 160, height: 140 });
}

const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/** A Markdown table, one row per result, in the given order. */
export function deltaWTable(results: readonly DeltaWResult[]): string {
  const head = [
    "| layer | matrix | shape | side | rank W_base | k | energy held | ‖ΔW‖/‖W_base‖ | mean | min | ≥ 0.9 | random √((m−r)/m) | random (sampled) | seconds |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const body = results.map((r) => {
    const k = r.capped ? `${r.k} (cap${r.kEnergy !== null ? `; 90% needs ${r.kEnergy}` : ""})` : String(r.k);
    const sampled = r.baselineSampled.n > 0 ? `${f3(r.baselineSampled.mean)} ± ${f3(r.baselineSampled.std)}` : "–";
    return `| ${r.layer ?? "–"} | ${r.matrix ?? "–"} | ${r.shape[0]}×${r.shape[1]} | ${r.side} | ${r.rankBase} | ${k} | ${pct(r.energyCaptured)} | ${r.normRatio.toPrecision(3)} | ${f3(r.mean)} | ${f3(r.min)} | ${pct(r.fracAbove09)} | ${f3(r.baselineAnalytic)} | ${sampled} | ${r.seconds.total.toFixed(1)} |`;
  });
  return [...head, ...body].join("\n") + "\n";
}

/** One line for the CLI, e.g. "layer 3 gate_proj: k=12, mean 0.81 (baseline 0.79), ≥0.9: 8%, rank 4096, 14.2 s". */
export function deltaWSummary(r: DeltaWResult): string {
  const name = `${layerLabel(r)} ${r.matrix ?? `${r.shape[0]}×${r.shape[1]}`}`;
  return `${name}: k=${r.k}${r.capped ? " (capped)" : ""}, mean ${f3(r.mean)} (baseline ${f3(r.baselineAnalytic)}), min ${f3(r.min)}, ≥0.9: ${pct(r.fracAbove09)}, rank ${r.rankBase}/${Math.min(...r.shape)}, ${r.seconds.total.toFixed(1)} s`;
}
