/**
 * Vega-Lite specs → SVG in Node, without a canvas: vega's "none" renderer with `view.toSVG()` (text widths are
 * estimated, which is fine for plots). Each plot is written as `<name>.svg` plus its spec `<name>.vl.json`, so a
 * figure can be restyled or re-rendered elsewhere (vega-lite editor, Python's altair) from the same data.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as vega from "vega";
import * as vl from "vega-lite";
import { writeFileAtomic } from "../io/atomic.js";

/** A Vega-Lite spec (kept loose: the builders in specs.ts produce them). */
export type VlSpec = Record<string, unknown>;

export const VL_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  // vega tags inline data rows with symbols in place: compile a deep copy so callers' results stay untouched.
  const compiled = vl.compile(JSON.parse(JSON.stringify(spec)) as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `<dir>/<name>.svg` and `<dir>/<name>.vl.json` atomically (creating dir). Returns the two paths. */
export async function writePlot(dir: string, name: string, spec: VlSpec): Promise<{ svg: string; spec: string }> {
  mkdirSync(dir, { recursive: true });
  const svg = await renderSvg(spec);
  const paths = { svg: join(dir, `${name}.svg`), spec: join(dir, `${name}.vl.json`) };
  writeFileAtomic(paths.spec, JSON.stringify(spec, null, 1) + "\n");
  writeFileAtomic(paths.svg, svg);
  return paths;
}
