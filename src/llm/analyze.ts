/**
 * `nullspace llm analyze`: the paper's Llama validation (§7) on any base/chat pair of Llama-architecture checkpoints.
 *  - τ clustering per layer (Fig. 3, bottom row): each model's own safe/unsafe means from the reference prompts,
 *    τ statistics on the test prompts — the chat model should separate far more than the base model;
 *  - jailbreak prompts in activation space (Fig. 7): τ of each jailbreak family against the chat model's means;
 *  - ΔW = W_chat − W_base of gate/up/down_proj against the null space of W_base (Fig. 4), streamed per matrix.
 * The synthetic modules do the statistics (clustering.ts, deltaw.ts); this file only gathers activations and writes
 * results.
 */
import { join } from "node:path";
import { centroids, clusterStats, clusteringPlot, clusterSpectrumPlot, tau, type ClusteringModelResult, type ClusteringResult } from "../analysis/clustering.js";
import type { LayerFeatures } from "../analysis/features.js";
import { mean, r6, std } from "../analysis/stats.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { writePlot, type VlSpec } from "../plot/render.js";
import { curvesSpec } from "../plot/specs.js";
import { UserError } from "../util/errors.js";
import { openLlamaCheckpoint, type LlamaCheckpoint } from "./checkpoint.js";
import { analyzeDeltaW, type DeltaWResult, type LlamaMlpMatrix, type MatrixSource } from "./deltaw.js";
import { deltaWPlot, deltaWTable } from "./deltaw-report.js";
import { llamaHookNames, meanLastPositions, runLlama } from "./forward.js";
import { loadPrompts, type Prompt } from "./prompts.js";
import { loadTokenizer } from "./tokenizer.js";

export const LLM_MATRICES: readonly LlamaMlpMatrix[] = ["gate_proj", "up_proj", "down_proj"];
export const LLM_PARTS = ["clustering", "deltaw"] as const;
export type LlmPart = (typeof LLM_PARTS)[number];

export interface LlmAnalyzeOptions {
  base: string;
  chat: string;
  out: string;
  /** JSONL prompt set (default: the shipped data/llm/prompts.jsonl). */
  prompts?: string;
  /** Blocks analysed (default: all). */
  layers?: number[];
  /** Hook inside a block (default "mlp.hook_post", the SwiGLU hidden — the analogue of the synthetic GELU output). */
  hook?: string;
  /** Positions averaged at the end of each prompt (default 5). */
  window?: number;
  matrices?: LlamaMlpMatrix[];
  parts?: LlmPart[];
  /** At most this many prompts per (family, label, split) group (default: all). */
  perGroup?: number;
  /** Singular vectors of ΔW tested per matrix (default 64). */
  maxVectors?: number;
  chunkTokens?: number;
  seed?: number;
  log?: (line: string) => void;
}

interface ModelSide {
  label: "base" | "chat";
  dir: string;
  ck: LlamaCheckpoint;
}

/** The prompts, grouped: reference/test × safe/unsafe of the standard family, and each jailbreak family. */
function groupPrompts(all: readonly Prompt[], perGroup?: number): Map<string, Prompt[]> {
  const groups = new Map<string, Prompt[]>();
  for (const p of all) {
    const key = p.family === "standard" ? `${p.split}/${p.label}` : `jailbreak/${p.family}`;
    const g = groups.get(key) ?? [];
    if (perGroup === undefined || g.length < perGroup) g.push(p);
    groups.set(key, g);
  }
  for (const k of ["reference/safe", "reference/unsafe", "test/safe", "test/unsafe"]) {
    if (!(groups.get(k)?.length)) throw new UserError(`prompt set: no standard prompts with split/label ${k} (each of reference/test × safe/unsafe needs at least one)`);
  }
  return groups;
}

/** Per layer, f32 features [n, width] of every prompt group under one model. */
function gatherFeatures(side: ModelSide, groups: Map<string, Prompt[]>, layers: number[], hook: string, window: number, chunkTokens: number | undefined, log: (s: string) => void): { features: Map<string, LayerFeatures>; template: boolean; tokens: number; seconds: number } {
  const tok = loadTokenizer(side.dir);
  const keys = [...groups.keys()];
  const flat = keys.flatMap((k) => groups.get(k)!);
  // The chat template is applied wherever the tokenizer config has one (chat models usually do, base models not).
  const ids = flat.map((p) => tok.encode(p.text, { chat: tok.hasChatTemplate }));
  const maxT = side.ck.config.maxPositionEmbeddings;
  ids.forEach((x, i) => {
    if (x.length > maxT) throw new UserError(`prompt ${flat[i].id}: ${x.length} tokens under ${side.dir}'s tokenizer, more than its max_position_embeddings ${maxT}`);
  });
  const tokens = ids.reduce((a, x) => a + x.length, 0);
  const names = layers.map((l) => `blocks.${l}.${hook}`);
  const valid = new Set(llamaHookNames(side.ck.config));
  for (const n of names) if (!valid.has(n)) throw new UserError(`--hook ${hook}: ${n} is not a hook of ${side.dir} (e.g. mlp.hook_post, mlp.hook_in, hook_resid_post)`);
  const t0 = Date.now();
  let last = 0;
  const r = runLlama(side.ck, ids, {
    hooks: names, select: meanLastPositions(window), chunkTokens,
    onLayer: (l, n) => {
      if (Date.now() - last > 10_000 || l + 1 === n) { last = Date.now(); log(`  ${side.label}: layer ${l + 1}/${n} (${((Date.now() - t0) / 1000).toFixed(0)} s, ${tokens} tokens)`); }
    },
  });
  const features = new Map<string, LayerFeatures>();
  let row0 = 0;
  for (const k of keys) {
    const n = groups.get(k)!.length;
    const data = names.map((name) => {
      const rows = r.hooks.get(name)!.slice(row0, row0 + n);
      const dim = rows[0].length, out = new Float64Array(n * dim);
      rows.forEach((v, i) => out.set(v, i * dim));
      return out;
    });
    features.set(k, { hook, layers, n, dim: r.hooks.get(names[0])![0].length, data });
    row0 += n;
  }
  return { features, template: tok.hasChatTemplate, tokens, seconds: (Date.now() - t0) / 1000 };
}

export interface JailbreakFamilyTau {
  model: string;
  family: string;
  n: number;
  layers: { layer: number; mean: number; std: number; fracSafeSide: number }[];
}

function familyTau(model: string, family: string, f: LayerFeatures, c: ReturnType<typeof centroids>): JailbreakFamilyTau {
  const t = tau(f, c, "l2");
  return { model, family, n: f.n, layers: f.layers.map((layer, li) => ({ layer, mean: r6(mean(t[li])), std: r6(std(t[li])), fracSafeSide: r6(t[li].filter((x) => x > 0).length / Math.max(1, t[li].length)) })) };
}

function jailbreakPlot(rows: JailbreakFamilyTau[], clustering: ClusteringResult): VlSpec {
  const data: Record<string, unknown>[] = [];
  for (const m of clustering.models) for (const s of m.layers) for (const g of ["safe", "unsafe"] as const) data.push({ model: m.label, layer: s.layer, series: `standard ${g}`, tau: s.l2[g].mean });
  for (const r of rows) for (const l of r.layers) data.push({ model: r.model, layer: l.layer, series: r.family, tau: l.mean });
  return curvesSpec({ title: "Jailbreak prompts in activation space: mean τ per layer (τ > 0 = nearer the safe mean)", rows: data, x: "layer", y: "tau", xTitle: "layer", yTitle: "mean τ (L2)", column: "model", points: true });
}

/** ΔW analysis of one layer's matrix, reading both checkpoints lazily. */
function deltaFor(base: LlamaCheckpoint, chat: LlamaCheckpoint, layer: number, m: LlamaMlpMatrix, o: LlmAnalyzeOptions): DeltaWResult {
  const name = `model.layers.${layer}.mlp.${m}.weight`;
  const src = (ck: LlamaCheckpoint): MatrixSource => {
    const [rows, cols] = ck.shape(name);
    return { rows, cols, load: () => ck.read(name) };
  };
  const b = src(base), c = src(chat);
  if (b.rows !== c.rows || b.cols !== c.cols) throw new UserError(`${name}: base is ${b.rows}×${b.cols} but chat is ${c.rows}×${c.cols}`);
  return analyzeDeltaW(b, c, { layer, matrix: m, maxVectors: o.maxVectors, seed: o.seed ?? 0 });
}

export interface LlmAnalyzeResult {
  kind: "llm-analysis";
  base: string;
  chat: string;
  prompts: { file: string; groups: Record<string, number> };
  hook: string;
  window: number;
  layers: number[];
  models: Record<string, { chatTemplate: boolean; tokens: number; seconds: number }>;
  clustering: ClusteringResult | null;
  jailbreaks: JailbreakFamilyTau[];
  deltaw: DeltaWResult[];
  seconds: number;
}

function checkLayers(layers: number[] | undefined, n: number): number[] {
  const ls = layers ?? Array.from({ length: n }, (_, i) => i);
  for (const l of ls) if (!(Number.isInteger(l) && l >= 0 && l < n)) throw new UserError(`--layers: ${l} is not a layer of the model (0..${n - 1})`);
  return ls;
}

export async function llmAnalyze(o: LlmAnalyzeOptions): Promise<{ result: LlmAnalyzeResult; files: string[] }> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const sides: ModelSide[] = [{ label: "base", dir: o.base, ck: openLlamaCheckpoint(o.base) }, { label: "chat", dir: o.chat, ck: openLlamaCheckpoint(o.chat) }];
  const [bc, cc] = [sides[0].ck.config, sides[1].ck.config];
  for (const k of ["hiddenSize", "intermediateSize", "numLayers"] as const) if (bc[k] !== cc[k]) throw new UserError(`--chat ${o.chat}: ${k} is ${cc[k]} but the base model's is ${bc[k]}; ΔW needs the same architecture`);
  const layers = checkLayers(o.layers, bc.numLayers);
  const parts = o.parts ?? [...LLM_PARTS];
  const hook = o.hook ?? "mlp.hook_post", window = o.window ?? 5;
  if (!(Number.isInteger(window) && window >= 1)) throw new UserError(`--window must be a positive integer, got ${window}`);
  const file = o.prompts ?? "data/llm/prompts.jsonl (shipped)";
  const groups = groupPrompts(o.prompts ? loadPrompts(o.prompts) : loadPrompts(), o.perGroup);
  const files: string[] = [];
  const result: LlmAnalyzeResult = {
    kind: "llm-analysis", base: o.base, chat: o.chat, prompts: { file, groups: Object.fromEntries([...groups].map(([k, v]) => [k, v.length])) },
    hook, window, layers, models: {}, clustering: null, jailbreaks: [], deltaw: [], seconds: 0,
  };
  const plots = join(o.out, "plots");
  if (parts.includes("clustering")) {
    const models: ClusteringModelResult[] = [];
    for (const side of sides) {
      log(`activations: ${side.label} (${side.dir}), ${layers.length} layers, hook ${hook}`);
      const g = gatherFeatures(side, groups, layers, hook, window, o.chunkTokens, log);
      result.models[side.label] = { chatTemplate: g.template, tokens: g.tokens, seconds: r6(g.seconds) };
      const f = (k: string) => g.features.get(k)!;
      const c = centroids(f("reference/safe"), f("reference/unsafe"));
      models.push({ label: side.label, layers: clusterStats(c, f("test/safe"), f("test/unsafe")) });
      for (const [k, feats] of g.features) if (k.startsWith("jailbreak/")) result.jailbreaks.push(familyTau(side.label, k.slice("jailbreak/".length), feats, c));
    }
    const n = (k: string) => groups.get(k)!.length;
    result.clustering = { kind: "clustering", hook, window, units: "all", n: { refSafe: n("reference/safe"), refUnsafe: n("reference/unsafe"), testSafe: n("test/safe"), testUnsafe: n("test/unsafe") }, models };
    for (const [name, spec] of [["llm-clustering", clusteringPlot(result.clustering)], ["llm-cluster-spectrum", clusterSpectrumPlot(result.clustering)], ["llm-jailbreaks", jailbreakPlot(result.jailbreaks, result.clustering)]] as const) {
      files.push((await writePlot(plots, name, spec)).svg);
    }
  }
  if (parts.includes("deltaw")) {
    const matrices = o.matrices ?? [...LLM_MATRICES];
    const total = layers.length * matrices.length;
    for (const layer of layers) {
      for (const m of matrices) {
        const r = deltaFor(sides[0].ck, sides[1].ck, layer, m, o);
        result.deltaw.push(r);
        log(`ΔW ${result.deltaw.length}/${total}: layer ${layer} ${m}: mean projection ${r.mean.toFixed(3)} vs baseline ${r.baselineAnalytic.toFixed(3)} (k = ${r.k}, ${r.seconds.total.toFixed(1)} s)`);
      }
    }
    files.push((await writePlot(plots, "llm-deltaw", deltaWPlot(result.deltaw))).svg);
  }
  result.seconds = r6((Date.now() - t0) / 1000);
  const json = join(o.out, "llm-analysis.json");
  writeJsonAtomic(json, result);
  const md = join(o.out, "llm-report.md");
  writeFileAtomic(md, llmReport(result));
  return { result, files: [json, md, ...files] };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–");

/** The Markdown report section (also embedded in reproduce-style reports). */
export function llmReport(r: LlmAnalyzeResult): string {
  const out: string[] = ["## Llama-architecture checkpoints: base vs chat", "", `Base \`${r.base}\`, chat \`${r.chat}\`; prompts ${r.prompts.file} (${Object.entries(r.prompts.groups).map(([k, v]) => `${k} ${v}`).join(", ")}); hook \`${r.hook}\`, mean of the last ${r.window} prompt positions.`, ""];
  for (const [m, s] of Object.entries(r.models)) out.push(`- ${m}: chat template ${s.chatTemplate ? "applied" : "not present"}, ${s.tokens} tokens, ${s.seconds.toFixed(1)} s`);
  if (r.clustering) {
    out.push("", "### τ clustering per layer (τ > 0 = nearer the safe mean)", "", "| layer | base τ safe | base τ unsafe | base gap | base AUC | chat τ safe | chat τ unsafe | chat gap | chat AUC |", "|---|---|---|---|---|---|---|---|---|");
    const [b, c] = r.clustering.models;
    b.layers.forEach((s, i) => {
      const t = c.layers[i];
      out.push(`| ${s.layer} | ${f3(s.l2.safe.mean)} | ${f3(s.l2.unsafe.mean)} | ${f3(s.l2.gap)} | ${f3(s.l2.auc)} | ${f3(t.l2.safe.mean)} | ${f3(t.l2.unsafe.mean)} | ${f3(t.l2.gap)} | ${f3(t.l2.auc)} |`);
    });
    if (r.jailbreaks.length) {
      const last = r.layers[r.layers.length - 1];
      out.push("", `### Jailbreak families at layer ${last} (share on the safe side, τ > 0)`, "", "| family | n | base mean τ | base safe-side | chat mean τ | chat safe-side |", "|---|---|---|---|---|---|");
      for (const fam of [...new Set(r.jailbreaks.map((j) => j.family))]) {
        const at = (m: string) => r.jailbreaks.find((j) => j.model === m && j.family === fam)?.layers.at(-1);
        const [jb, jc] = [at("base"), at("chat")];
        out.push(`| ${fam} | ${r.jailbreaks.find((j) => j.family === fam)!.n} | ${f3(jb?.mean ?? NaN)} | ${f3(jb?.fracSafeSide ?? NaN)} | ${f3(jc?.mean ?? NaN)} | ${f3(jc?.fracSafeSide ?? NaN)} |`);
      }
    }
  }
  if (r.deltaw.length) out.push("", "### ΔW = W_chat − W_base against the null space of W_base", "", deltaWTable(r.deltaw));
  out.push("", `Total ${r.seconds.toFixed(1)} s.`, "");
  return out.join("\n");
}
