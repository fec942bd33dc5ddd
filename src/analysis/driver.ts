/**
 * The analysis driver: runs one kind (or all) of the mechanistic analyses for an instruction-tuned / safety-tuned
 * pair of run directories and writes `<kind>.json` plus SVG plots with their Vega-Lite specs under
 * `<st>/analysis/` (or `out`). The data spec (seed, PCFGs, text length) comes from the runs' config.json `data`
 * section; analyses use the test split. Used by `nullspace analyze` and by `nullspace reproduce`.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { runClustering, clusteringPlot, clusterSpectrumPlot, type Centroids, type ClusteringResult } from "./clustering.js";
import { runColumnSpace, columnSpacePlot, columnSpaceReferencePlot } from "./columnspace.js";
import { jailbreakInputs, JAILBREAK_SETS, specForSet, standardInputs } from "./inputs.js";
import { alphaSweep, interventionPlot, safetyEvaluator, DEFAULT_ALPHAS, type SweepResult } from "./interventions.js";
import { evaluateRun, runDataSpec } from "../eval/run-eval.js";
import { jailbreakPlot, jailbreakTau, type TauGroup } from "./jailbreaks.js";
import { lipschitzPlot, runLipschitz } from "./lipschitz.js";
import { rowSpaceGainPlot, rowSpaceScoresPlot, runRowSpace } from "./rowspace.js";
import { runSpectrum, spectrumEvolution, spectrumEvolutionPlot, spectrumPlot } from "./spectrum.js";
import { checkSameArchitecture } from "./weights.js";
import type { ClusterData } from "./clustering.js";
import type { SeqInput } from "./features.js";
import type { DataSpec } from "../data/sample.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { loadModel } from "../model/checkpoint.js";
import { writePlot, type VlSpec } from "../plot/render.js";
import { UserError } from "../util/errors.js";
import { intOption } from "../util/options.js";

/** The kinds `all` runs; `interventions` (an evaluation per α) is run only when asked for. */
export const ANALYSIS_KINDS = ["clustering", "columnspace", "rowspace", "spectrum", "lipschitz", "jailbreaks"] as const;
export const EXTRA_KINDS = ["interventions"] as const;
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number] | (typeof EXTRA_KINDS)[number];
export const ALL_KINDS: readonly string[] = [...ANALYSIS_KINDS, ...EXTRA_KINDS, "all"];
const NEEDS_DATA: ReadonlySet<AnalysisKind> = new Set(["clustering", "rowspace", "lipschitz", "jailbreaks", "interventions"]);

export interface AnalyzeOptions {
  it: string;
  st: string;
  out?: string;
  n: string;
  refN?: string;
  units?: string;
  checkpoints?: string[];
  successFilter: boolean;
  alphas?: string;
  base?: string;
  jbN: string;
  json?: boolean;
}

function positiveInt(flag: string, v: string | undefined, max = 1_000_000): number | undefined {
  return v === undefined ? undefined : intOption(flag, v, 1, max);
}

function checkRunDir(flag: string, dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${flag} ${dir}: no such run directory`);
}

/** The runs' data spec (test split): the ST run's config.json `data` section, else the IT run's. */
export function dataSpecOf(dirs: readonly string[]): DataSpec {
  let first: unknown;
  for (const dir of dirs) {
    try {
      return { ...runDataSpec(dir), split: "test" };
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

/** Safety checkpoints `<st>/checkpoints/step-<N>` (or the given dirs), sorted by step. */
export function findCheckpoints(st: string, given?: string[]): { step: number; dir: string }[] {
  const dirs = given ?? (existsSync(join(st, "checkpoints")) ? readdirSync(join(st, "checkpoints")).filter((n) => /^step-\d+$/.test(n)).map((n) => join(st, "checkpoints", n)) : []);
  return dirs.map((dir, i) => {
    const m = /step-(\d+)\/?$/.exec(dir);
    checkRunDir("--checkpoints", dir);
    return { step: m ? Number(m[1]) : i, dir };
  }).sort((a, b) => a.step - b.step);
}

function summaryLine(kind: AnalysisKind, r: unknown): string {
  const f = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : "–");
  switch (kind) {
    case "clustering":
      return (r as ClusteringResult).models.map((m) => `${m.label}: gap ${m.layers.map((l) => f(l.l2.gap)).join(" ")}, AUC ${m.layers.map((l) => f(l.l2.auc)).join(" ")}`).join("; ");
    case "columnspace": {
      const e = (r as ReturnType<typeof runColumnSpace>).entries.filter((x) => x.matrix === "c_fc");
      return `c_fc mean projection onto N(W_ITᵀ) ${e.map((x) => f(x.left.mean)).join(" ")} (baseline ${f(e[0]?.left.baselineAnalytic ?? NaN)})`;
    }
    case "rowspace": {
      const l = (r as ReturnType<typeof runRowSpace>).layers;
      return `‖ΔW a‖/‖a‖ unsafe/safe ${l.map((x) => f(x.gain.ratio)).join(" ")}, AUC ${l.map((x) => f(x.gain.auc)).join(" ")}`;
    }
    case "spectrum": {
      const e = (r as { spectrum: ReturnType<typeof runSpectrum> }).spectrum.entries.filter((x) => x.matrix === "c_fc");
      return `c_fc 90%-energy rank ΔW ${e.map((x) => x.delta.energyRank).join(" ")} vs W_IT ${e.map((x) => x.it.energyRank).join(" ")}`;
    }
    case "lipschitz":
      return (r as ReturnType<typeof runLipschitz>).models.map((m) => `${m.label}: median safe ${f(m.groups.safe.median)} unsafe ${f(m.groups.unsafe.median)}`).join("; ");
    case "interventions":
      return (r as SweepResult).points.map((p) => `α ${p.alpha}: instruct ${f(p.instruct)} null ${f(p.null)} attack ${f(p.attack)}`).join("; ");
    case "jailbreaks":
      return (r as ReturnType<typeof jailbreakTau>).groups.map((g) => `${g.name} ${g.n}/${g.nTotal} τ ${f(g.layers[g.layers.length - 1]?.mean ?? NaN)}`).join(", ");
  }
}

function parseAlphas(text: string): number[] {
  const parts = text.split(",").map((x) => x.trim()).filter(Boolean);
  if (!parts.length || parts.some((x) => !Number.isFinite(Number(x)))) throw new UserError(`--alphas: expected comma-separated numbers such as 0,0.5,1,2,3, got ${JSON.stringify(text)}`);
  return parts.map(Number);
}

export async function analyze(kind: AnalysisKind | "all", o: AnalyzeOptions, log: (line: string) => void): Promise<Record<string, { json: string; plots: string[]; summary: string; seconds: number }>> {
  const kinds: AnalysisKind[] = kind === "all" ? [...ANALYSIS_KINDS] : [kind];
  checkRunDir("--it", o.it);
  checkRunDir("--st", o.st);
  const n = positiveInt("--n", o.n)!, refN = positiveInt("--ref-n", o.refN) ?? n, units = positiveInt("--units", o.units);
  const it = loadModel(o.it), st = loadModel(o.st);
  try {
    checkSameArchitecture(it, st);
  } catch (e) {
    throw new UserError(`--it ${o.it} and --st ${o.st}: ${(e as Error).message}`);
  }
  const spec = kinds.some((k) => NEEDS_DATA.has(k)) ? dataSpecOf([o.st, o.it]) : null;
  const out = o.out ?? join(o.st, "analysis");
  const models = [{ label: "IT", model: it }, { label: "ST", model: st }];
  let data: ClusterData | null = null;
  const getData = () => (data ??= standardInputs(spec!, n, refN));
  let cents: Map<string, Centroids> | null = null;
  const done: Record<string, { json: string; plots: string[]; summary: string; seconds: number }> = {};
  for (const k of kinds) {
    const t0 = Date.now();
    const plots: [string, VlSpec][] = [];
    let result: unknown;
    if (k === "clustering" || (k === "jailbreaks" && !cents)) {
      const cl = runClustering(models, getData(), { ...(units ? { units } : {}) });
      cents = cl.centroids;
      if (k === "clustering") {
        result = cl.result;
        plots.push(["clustering", clusteringPlot(cl.result)], ["clustering-spectrum", clusterSpectrumPlot(cl.result)]);
      }
    }
    if (k === "columnspace") {
      const r = runColumnSpace(it, st);
      result = r;
      plots.push(["columnspace", columnSpacePlot(r)], ["columnspace-reference", columnSpaceReferencePlot(r)]);
    } else if (k === "rowspace") {
      // Jailbreak prompts (all of them, not only successful ones) as extra groups: is ΔW·a small for them?
      const extra: Record<string, SeqInput[]> = {};
      for (const set of JAILBREAK_SETS) {
        const s = specForSet(spec!, set);
        if (s) extra[set] = jailbreakInputs(s, set, positiveInt("--jb-n", o.jbN)!);
      }
      const r = runRowSpace(it, st, { safe: getData().testSafe, unsafe: getData().testUnsafe, extra });
      result = r;
      plots.push(["rowspace-gain", rowSpaceGainPlot(r)], ["rowspace-scores", rowSpaceScoresPlot(r)]);
    } else if (k === "spectrum") {
      const r = runSpectrum(it, st);
      const cks = findCheckpoints(o.st, o.checkpoints);
      const ev = cks.length ? spectrumEvolution(it, cks.map((c) => ({ step: c.step, load: () => loadModel(c.dir) }))) : null;
      result = { spectrum: r, evolution: ev };
      plots.push(["spectrum", spectrumPlot(r)]);
      if (ev) plots.push(["spectrum-evolution", spectrumEvolutionPlot(ev)]);
    } else if (k === "lipschitz") {
      const r = runLipschitz(models, { safe: getData().testSafe, unsafe: getData().testUnsafe });
      result = r;
      plots.push(["lipschitz", lipschitzPlot(r)]);
    } else if (k === "jailbreaks") {
      const groups: TauGroup[] = [{ name: "safe", inputs: { sequences: getData().testSafe } }, { name: "unsafe", inputs: { sequences: getData().testUnsafe } }];
      // Success = the ST model's greedy output is the compliant one (the evaluation module's "comply" outcome),
      // taken from the run's cached evaluation (<st>/evaluation.json, shared with `nullspace evaluate --n <jb-n>`).
      const jbN = positiveInt("--jb-n", o.jbN)!;
      const evaluation = o.successFilter ? evaluateRun(o.st, jbN) : null;
      for (const set of JAILBREAK_SETS) {
        const s = specForSet(spec!, set);
        if (!s) continue;
        const outcomes = evaluation?.sets[set]?.outcomes;
        if (evaluation && !outcomes) continue;
        groups.push({ name: set, family: set, inputs: { sequences: jailbreakInputs(s, set, jbN) }, ...(outcomes ? { success: outcomes.map((x) => x === "comply") } : {}) });
      }
      const r = { ...jailbreakTau("ST", st, cents!.get("ST")!, groups, { ...(units ? { units } : {}) }), successFilter: o.successFilter ? "greedy exact match of the compliant output (ST model)" : "none" };
      result = r;
      plots.push(["jailbreaks", jailbreakPlot([r])]);
    } else if (k === "interventions") {
      const alphas = o.alphas ? parseAlphas(o.alphas) : DEFAULT_ALPHAS;
      const base = o.base ? loadModel(o.base) : undefined;
      const r = await alphaSweep(it, st, safetyEvaluator(spec!, positiveInt("--jb-n", o.jbN)!), { alphas, ...(base ? { base, label: `ΔW on ${o.base}` } : {}), onPoint: (p) => log(`  α ${p.alpha}: instruct ${p.instruct.toFixed(3)} null ${p.null.toFixed(3)} attack ${p.attack.toFixed(3)}`) });
      result = r;
      plots.push(["interventions", interventionPlot([r])]);
    }
    const json = join(out, `${k}.json`);
    const paths: string[] = [];
    for (const [name, p] of plots) paths.push((await writePlot(out, name, p)).svg);
    writeJsonAtomic(json, { ...(result as object), it: o.it, st: o.st, n, refN, generated: new Date().toISOString() });
    const seconds = (Date.now() - t0) / 1000;
    done[k] = { json, plots: paths, summary: summaryLine(k, result), seconds };
    log(`${k} (${seconds.toFixed(1)} s): ${done[k].summary}`);
  }
  return done;
}
