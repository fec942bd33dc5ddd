/**
 * Vega-Lite spec builders for the analyses' figures. Data is inlined (values), already summarised by the analysis
 * (means, quantiles, histogram bins), so specs stay small. Safe is green and unsafe red, as in the paper.
 */
import { VL_SCHEMA, type VlSpec } from "./render.js";

export const SAFE_COLOR = "#2ca02c";
export const UNSAFE_COLOR = "#d62728";
const OTHER_COLORS = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

type Row = Record<string, unknown>;

/** A colour scale that pins "safe"/"unsafe" (and names containing them) to green/red and cycles the rest. */
export function groupColors(groups: readonly string[]): { domain: string[]; range: string[] } {
  const domain = [...new Set(groups)];
  let k = 0;
  const range = domain.map((g) => (/^unsafe/i.test(g) ? UNSAFE_COLOR : /^safe/i.test(g) ? SAFE_COLOR : OTHER_COLORS[k++ % OTHER_COLORS.length]));
  return { domain, range };
}

interface Common {
  title: string;
  /** Optional facet fields present in the rows. */
  column?: string;
  row?: string;
  width?: number;
  height?: number;
}

function facetWrap(c: Common, rows: Row[], layer: VlSpec[], resolve?: VlSpec): VlSpec {
  const inner = { width: c.width ?? 220, height: c.height ?? 160, layer };
  const base: VlSpec = { $schema: VL_SCHEMA, title: c.title, data: { values: rows } };
  if (!c.column && !c.row) return { ...base, ...inner };
  const facet: VlSpec = {};
  if (c.column) facet.column = { field: c.column, type: "nominal", title: null };
  if (c.row) facet.row = { field: c.row, type: "nominal", title: null };
  return { ...base, facet, spec: inner, ...(resolve ? { resolve } : {}) };
}

/**
 * Fig. 3 style: mean per x (layer) as a line with a ±std band, one colour per group.
 * Rows: { [x]: number, mean, lo, hi, group, ...facets }.
 */
export function bandSpec(c: Common & { rows: Row[]; x: string; xTitle: string; yTitle: string; independentY?: boolean }): VlSpec {
  const color = { field: "group", type: "nominal", scale: groupColors(c.rows.map((r) => String(r.group))), title: null };
  const x = { field: c.x, type: "ordinal", title: c.xTitle };
  const layer = [
    { mark: { type: "area", opacity: 0.2 }, encoding: { x, y: { field: "lo", type: "quantitative", title: c.yTitle }, y2: { field: "hi" }, color } },
    { mark: { type: "line", point: true }, encoding: { x, y: { field: "mean", type: "quantitative" }, color } },
    { mark: { type: "rule", strokeDash: [2, 2], color: "#999" }, encoding: { y: { datum: 0 } } },
  ];
  return facetWrap(c, c.rows, layer, c.independentY ? { scale: { y: "independent" } } : undefined);
}

/**
 * Fig. 4 style: values sorted ascending against their rank, with horizontal baseline rules.
 * Rows: { rank, value, series, ...facets }; baselines: { value, label, ...facets }.
 */
export function sortedScatterSpec(c: Common & { rows: Row[]; baselines: Row[]; yTitle: string; yDomain?: [number, number] }): VlSpec {
  const all = [...c.rows.map((r) => ({ ...r, kind: "point" })), ...c.baselines.map((b) => ({ ...b, kind: "baseline" }))];
  const layer = [
    {
      transform: [{ filter: "datum.kind === 'point'" }],
      mark: { type: "point", filled: true, size: 18 },
      encoding: {
        x: { field: "rank", type: "quantitative", title: "vector (sorted)" },
        y: { field: "value", type: "quantitative", title: c.yTitle, ...(c.yDomain ? { scale: { domain: c.yDomain } } : {}) },
        color: { field: "series", type: "nominal", title: null },
      },
    },
    {
      transform: [{ filter: "datum.kind === 'baseline'" }],
      mark: { type: "rule", strokeDash: [4, 3] },
      encoding: { y: { field: "value", type: "quantitative" }, strokeDash: { field: "label", type: "nominal", title: null }, color: { value: "#555" } },
    },
  ];
  return facetWrap(c, all, layer);
}

/**
 * Fig. 5 style: per-x box summaries (precomputed quantiles), groups side by side.
 * Rows: { [x], group, min, q25, median, q75, max, ...facets }.
 */
export function boxSpec(c: Common & { rows: Row[]; x: string; xTitle: string; yTitle: string }): VlSpec {
  const color = { field: "group", type: "nominal", scale: groupColors(c.rows.map((r) => String(r.group))), title: null };
  // Explicit sorts on both channels: vega-lite otherwise warns that the layers' domains sort differently.
  const x = { field: c.x, type: "ordinal", title: c.xTitle, sort: "ascending" };
  const xOffset = { field: "group", type: "nominal", sort: "ascending" };
  const layer = [
    { mark: { type: "rule" }, encoding: { x, xOffset, y: { field: "min", type: "quantitative", title: c.yTitle }, y2: { field: "max" }, color } },
    { mark: { type: "bar", size: 10, opacity: 0.7 }, encoding: { x, xOffset, y: { field: "q25", type: "quantitative" }, y2: { field: "q75" }, color } },
    { mark: { type: "tick", color: "black", size: 10 }, encoding: { x, xOffset, y: { field: "median", type: "quantitative" } } },
  ];
  return facetWrap(c, c.rows, layer);
}

/**
 * Fig. 6 style: overlaid histograms (precomputed bins). Rows: { x0, x1, count, group, ...facets }.
 */
export function histogramSpec(c: Common & { rows: Row[]; xTitle: string }): VlSpec {
  const color = { field: "group", type: "nominal", scale: groupColors(c.rows.map((r) => String(r.group))), title: null };
  const layer = [
    {
      mark: { type: "rect", opacity: 0.5 },
      encoding: {
        x: { field: "x0", type: "quantitative", title: c.xTitle },
        x2: { field: "x1" },
        y: { field: "count", type: "quantitative", title: "samples", stack: null },
        color,
      },
    },
  ];
  return facetWrap(c, c.rows, layer);
}

/**
 * Curves against a numeric x (α, attack strength, training step, singular-value index).
 * Rows: { [x], [y], series, ...facets }.
 */
export function curvesSpec(c: Common & { rows: Row[]; x: string; y: string; xTitle: string; yTitle: string; logY?: boolean; points?: boolean; yDomain?: [number, number]; xOrdinal?: boolean }): VlSpec {
  const scale: VlSpec = {};
  if (c.logY) scale.type = "log";
  if (c.yDomain) scale.domain = c.yDomain;
  const layer = [
    {
      mark: { type: "line", point: c.points ?? true },
      encoding: {
        x: { field: c.x, type: c.xOrdinal ? "ordinal" : "quantitative", title: c.xTitle },
        y: { field: c.y, type: "quantitative", title: c.yTitle, ...(Object.keys(scale).length ? { scale } : {}) },
        color: { field: "series", type: "nominal", scale: groupColors(c.rows.map((r) => String(r.series))), title: null },
      },
    },
  ];
  return facetWrap(c, c.rows, layer, c.logY ? undefined : { scale: { y: "independent" } });
}
