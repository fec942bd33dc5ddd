/**
 * The whole reproduction: training stages (pipeline.ts), analyses and attacks per safety-tuned model, claims,
 * results.json and report.html. Everything is cached by stage, so an interrupted run continues where it stopped.
 */
import { cpus, totalmem } from "node:os";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { analyze, type AnalyzeOptions } from "../analysis/driver.js";
import { backend } from "../engine/backend/index.js";
import { nativeInfo } from "../engine/backend/native.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { curvesSpec } from "../plot/specs.js";
import { writePlot } from "../plot/render.js";
import { RunDir } from "../train/rundir.js";
import { evaluateClaims, type SeedBundle } from "./claims.js";
import { SAFETY_RUNS, runStageAsync, trainingStages, type ReproduceOptions, type SeedResult, type StageTiming } from "./pipeline.js";
import { renderReport } from "./report.js";
import { ATTACK_TOKENS, attackStage, type AttackStageResult } from "./attacks.js";
import { stageHash } from "./stages.js";
import type { SafetyRunConfig } from "../stages/safety-presets.js";

/** Analysis sample sizes per preset (test inputs per group). */
const ANALYSIS_N: Record<string, number> = { tiny: 24, cpu: 400, paper: 1000 };
const ALPHAS = "0,0.5,1,1.25,1.5,2";
/** Items per attack strength. */
const SWEEP_N: Record<string, number> = { tiny: 8, cpu: 100, paper: 500 };
/** Items per set in each evaluation of the α sweep (one full evaluation of all sets per α). */
const ALPHA_N: Record<string, number> = { tiny: 8, cpu: 50, paper: 200 };

function readJson(path: string): any {
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
}

async function analysisStages(o: ReproduceOptions, r: SeedResult, timings: StageTiming[], counter: { i: number; total: number }, log: (s: string) => void): Promise<Record<string, string>> {
  const dirs: Record<string, string> = {};
  const n = ANALYSIS_N[o.preset] ?? 400;
  // The same n as the stage evaluation, so the success filter reuses the cached evaluation.json.
  const jbN = r.evaluations.pretrain?.n ?? 200;
  for (const { method, regime } of SAFETY_RUNS) {
    const name = `${method}_${regime}`;
    const dir = join(o.out, `seed-${r.seed}`, "analysis", name);
    // Interventions (one evaluation per α) for SSFT only: the paper's claim is about the weakest method.
    const kinds = method === "ssft" ? (["all", "interventions"] as const) : (["all"] as const);
    const sweepN = ALPHA_N[o.preset] ?? 50;
    const opts: AnalyzeOptions = { it: r.dirs.pretrain, st: r.dirs[name], out: dir, n: String(n), successFilter: true, jbN: String(jbN), alphas: ALPHAS };
    const inputs = [readJson(join(r.dirs[name], "stage.json"))?.hash ?? "", readJson(join(r.dirs.pretrain, "stage.json"))?.hash ?? ""];
    await runStageAsync(dir, `analysis ${name}`, stageHash({ n, jbN, kinds, alphas: ALPHAS, sweepN }, inputs), async () => {
      for (const k of kinds) await analyze(k, k === "interventions" ? { ...opts, jbN: String(sweepN) } : opts, (s) => log(`  ${name}: ${s}`));
    }, timings, r.seed, (s) => o.onStage?.(++counter.i, counter.total, `seed ${r.seed}: analysis ${name}`, s));
    dirs[name] = dir;
  }
  return dirs;
}

async function attackStages(o: ReproduceOptions, r: SeedResult, timings: StageTiming[], counter: { i: number; total: number }, log: (s: string) => void): Promise<Record<string, AttackStageResult>> {
  const res: Record<string, AttackStageResult> = {};
  const n = SWEEP_N[o.preset] ?? 100, analysisN = ANALYSIS_N[o.preset] ?? 400;
  for (const { method, regime } of SAFETY_RUNS) {
    const name = `${method}_${regime}`;
    const dir = join(o.out, `seed-${r.seed}`, "attacks", name);
    const inputs = [readJson(join(r.dirs[name], "stage.json"))?.hash ?? ""];
    await runStageAsync(dir, `attacks ${name}`, stageHash({ n, analysisN, tokens: ATTACK_TOKENS, steps: 10 }, inputs), async () => {
      const a = await attackStage(r.dirs[name], dir, n, analysisN);
      log(`  ${name}: soft-token success ${a.rows.map((x) => `n=${x.tokens} ${x.success.rate.toFixed(2)}`).join(", ")}`);
    }, timings, r.seed, (s) => o.onStage?.(++counter.i, counter.total, `seed ${r.seed}: attacks ${name}`, s));
    res[name] = readJson(join(dir, "attacks.json"));
  }
  return res;
}

export function machineInfo(): Record<string, string | number> {
  const be = backend();
  const ni = be.name === "native" ? nativeInfo() : null;
  return { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memory_gib: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, backend: be.name, threads: be.threads, simd: ni?.simd ?? "n/a", platform: `${process.platform}-${process.arch}` };
}

/** The safety fine-tuning recipe a run actually used (its resolved config.json), for the report's setup table. */
export function safetySetup(cfg: SafetyRunConfig | undefined): Record<string, string> {
  if (!cfg) return {};
  const d = cfg.data, l = cfg.loss;
  const byCat = d.p_unsafe_by_category;
  const perMethod = `${d.p_unsafe.ssft} / ${d.p_unsafe.dpo} / ${d.p_unsafe.unlearn} (SSFT / DPO / unlearning)`;
  return {
    "safety fine-tuning": `${cfg.train.max_iters} steps × batch ${cfg.train.batch_size}, η_M ${cfg.lrs.M} / η_S ${cfg.lrs.S}`,
    "safe/unsafe draw": d.mix === "sample" ? `per row, p_unsafe ${byCat ? `${byCat.safe} on safe-branch / ${byCat.id_mg} on unsafe-branch text` : perMethod}` : `per batch, p_unsafe ${perMethod}`,
    DPO: l.dpo_variant === "reference" ? `reference (β_w ${l.beta_w}, β_l ${l.beta_l}, per-position mean)` : `${l.dpo_variant} (β ${l.beta})`,
    ...(l.rpo_alpha > 0 ? { "DPO NLL anchor (rpo_alpha)": String(l.rpo_alpha) } : {}),
    unlearning: l.unlearn_variant === "npo" ? `NPO (β_npo ${l.npo_beta}, γ ${l.gamma})` : `reference gradient difference (γ ${l.gamma})`,
  };
}

/** Success vs number of soft tokens for one safety run, a line per seed (from each seed's attacks.json). */
async function attackStrengthPlot(dirs: string[], out: string): Promise<string | null> {
  const rows: Record<string, unknown>[] = [];
  dirs.forEach((d, i) => {
    const a = readJson(join(d, "attacks.json")) as AttackStageResult | undefined;
    for (const r of a?.rows ?? []) rows.push({ tokens: r.tokens, success: r.success.rate, series: `seed ${i}` });
  });
  if (!rows.length) return null;
  const spec = curvesSpec({ title: "Soft-token attack success vs strength", rows, x: "tokens", y: "success", xTitle: "soft tokens inserted before EOT", yTitle: "success (greedy exact match)", yDomain: [0, 1] });
  return (await writePlot(out, "success-vs-tokens", spec)).svg;
}

/** Loss curves of the pre-training and the six safety runs of one seed. */
async function trainingCurves(out: string, r: SeedResult): Promise<string | null> {
  const rows: Record<string, unknown>[] = [];
  for (const [name, dir] of Object.entries(r.dirs)) {
    const metrics = new RunDir(dir).readMetrics().filter((m) => typeof m.loss === "number");
    const every = Math.max(1, Math.floor(metrics.length / 200));
    metrics.forEach((m, i) => { if (i % every === 0) rows.push({ step: m.step, loss: m.loss, series: name, panel: name === "pretrain" ? "pre-training" : "safety fine-tuning" }); });
  }
  if (!rows.length) return null;
  const spec = curvesSpec({ title: "Training loss", rows, x: "step", y: "loss", xTitle: "step", yTitle: "loss", column: "panel", points: false });
  return (await writePlot(join(out, "plots"), "training-loss", spec)).svg;
}

/** Instruct (greedy) below which the instruction-tuned model is reported as not converged. */
export const IT_INSTRUCT_MIN = 0.9;

export async function reproduce(o: ReproduceOptions, log: (s: string) => void): Promise<{ results: string; report: string; claims: ReturnType<typeof evaluateClaims> }> {
  const t0 = Date.now();
  const timings: StageTiming[] = [];
  const counter = { i: 0, total: o.seeds.length * (7 + 2 * SAFETY_RUNS.length) };
  const bundles: SeedBundle[] = [];
  const seedResults: SeedResult[] = [];
  for (const seed of o.seeds) {
    const r = await trainingStages(o, seed, timings, counter);
    seedResults.push(r);
    const itInstruct = r.evaluations.pretrain?.headline.instruct.rate;
    // The pre-training jump to following instructions is stochastic in its timing; a seed that has not made it
    // gives a safety table about a model that never followed instructions, so say so where it is seen first.
    if (itInstruct !== undefined && itInstruct < IT_INSTRUCT_MIN) {
      log(`warning: seed ${seed}: the instruction-tuned model answers ${(100 * itInstruct).toFixed(1)}% of safe prompts (< ${100 * IT_INSTRUCT_MIN}%): pre-training has not converged; raise train.max_iters with --set or use another seed`);
    }
    const adirs = await analysisStages(o, r, timings, counter, log);
    const analyses: Record<string, Record<string, any>> = {};
    for (const [name, dir] of Object.entries(adirs)) {
      analyses[name] = {};
      for (const k of ["clustering", "columnspace", "rowspace", "spectrum", "lipschitz", "jailbreaks", "interventions"]) {
        const j = readJson(join(dir, `${k}.json`));
        if (j) analyses[name][k] = j;
      }
    }
    const attacks = await attackStages(o, r, timings, counter, log);
    bundles.push({ seed, evals: r.evaluations, analyses, attacks });
  }
  const claims = evaluateClaims(bundles);
  const wall = (Date.now() - t0) / 1000;
  const resultsPath = join(o.out, "results.json");
  const setup = safetySetup(readJson(join(seedResults[0].dirs["dpo_M"] ?? "", "config.json")) as SafetyRunConfig | undefined);
  writeJsonAtomic(resultsPath, {
    preset: o.preset, seeds: o.seeds, machine: machineInfo(), safety: setup, wall_seconds: wall, timings,
    evaluation: Object.fromEntries(bundles.map((b) => [b.seed, Object.fromEntries(Object.entries(b.evals).map(([k, v]) => [k, { ...v, sets: Object.fromEntries(Object.entries(v.sets).map(([s, x]) => [s, { ...x, outcomes: undefined }])) }]))])),
    claims,
  });
  const first = seedResults[0];
  const adir = (name: string) => join(o.out, `seed-${first.seed}`, "analysis", name);
  const figures: [string, string, string][] = [];
  for (const { method, regime } of SAFETY_RUNS) {
    const name = `${method}_${regime}`;
    const d = adir(name);
    figures.push(
      [`${name}`, "Fig. 3: τ per layer, safe (green) vs unsafe (red), IT vs ST", join(d, "clustering.svg")],
      [`${name}`, "Fig. 4: projection of ΔW's top left singular vectors onto N(W_ITᵀ), with the random baseline", join(d, "columnspace.svg")],
      [`${name}`, "Fig. 5: ‖ΔW a‖/‖a‖ for safe, unsafe and jailbreak MLP inputs", join(d, "rowspace-gain.svg")],
      [`${name}`, "Spectrum of ΔW vs W_IT", join(d, "spectrum.svg")],
      [`${name}`, "ΔW rank over safety fine-tuning", join(d, "spectrum-evolution.svg")],
      [`${name}`, "Fig. 6: local Lipschitzness (‖∂ max-logit / ∂ embeddings‖_F)", join(d, "lipschitz.svg")],
      [`${name}`, "Fig. 7: τ of successful jailbreaks vs the safe/unsafe clusters", join(d, "jailbreaks.svg")],
    );
    if (method === "ssft") figures.push([`${name}`, "Linear intervention W_IT + α·ΔW", join(d, "interventions.svg")]);
    const ad = join(o.out, `seed-${first.seed}`, "attacks", name);
    const svg = await attackStrengthPlot(o.seeds.map((s) => join(o.out, `seed-${s}`, "attacks", name)), ad);
    if (svg) figures.push([`${name}`, "Soft-token attack success vs number of inserted vectors (10 steps, ε = mean token-embedding norm), one line per seed, with 95% intervals in attacks.json", svg]);
    figures.push([`${name}`, "Fig. 7 (attacks): τ of successful adversarial inputs vs attack strength", join(ad, "attack-tau.svg")]);
  }
  const curves = await trainingCurves(o.out, first);
  const reportPath = join(o.out, "report.html");
  writeFileAtomic(reportPath, renderReport({ preset: o.preset, seeds: o.seeds, machine: { ...machineInfo(), ...setup }, wallSeconds: wall, timings, evals: Object.fromEntries(bundles.map((b) => [b.seed, b.evals])), claims, figures: figures.filter((f) => existsSync(f[2])), trainingCurves: curves }));
  return { results: resultsPath, report: reportPath, claims };
}
