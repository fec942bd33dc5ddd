/**
 * The self-contained report: setup, evaluation table, claims table and every figure inlined as SVG (no network).
 */
import { existsSync, readFileSync } from "node:fs";
import type { SafetyEval } from "../eval/safety-eval.js";
import type { ClaimResult } from "./claims.js";
import type { StageTiming } from "./pipeline.js";

export interface ReportInput {
  preset: string;
  seeds: number[];
  machine: Record<string, string | number>;
  wallSeconds: number;
  timings: StageTiming[];
  /** Evaluations per seed, per run name. */
  evals: Record<number, Record<string, SafetyEval>>;
  claims: ClaimResult[];
  /** Figures: [section title, caption, svg path]. */
  figures: [string, string, string][];
  trainingCurves: string | null;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "—");

type Col = [string, (e: SafetyEval) => number];

/** The reference's metric: teacher-forced token accuracy over the output segments. */
const TEACHER_COLS: Col[] = [
  ["Instruct (TF acc, std_safe)", (e) => e.sets.std_safe?.teacher.instruct_acc ?? NaN],
  ["Null (TF acc, std_safe)", (e) => e.sets.std_safe?.teacher.null_acc ?? NaN],
  ["Null (TF acc, std_unsafe)", (e) => e.sets.std_unsafe?.teacher.null_acc ?? NaN],
  ...["std_unsafe", "jb_co_task", "jb_co_text", "jb_misgen_tokens", "jb_misgen_text", "jb_co_comp"].map((s) => [`comply TF acc ${s}`, (e: SafetyEval) => e.sets[s]?.teacher.comply_acc ?? NaN] as Col),
];

/** Mean ± sd over seeds of a metric per run (greedy exact-match rates by default, in %). */
function evalTable(input: ReportInput, teacher = false): string {
  const runs = ["pretrain", "ssft_M", "dpo_M", "unlearn_M", "ssft_S", "dpo_S", "unlearn_S"];
  const cols: Col[] = teacher ? TEACHER_COLS : [
    ["Instruct ↑", (e) => e.headline.instruct.rate],
    ["Null ↑", (e) => e.headline.null.rate],
    ["Null safe-branch", (e) => e.headline.null_safe_branch.rate],
    ["Null unsafe-branch", (e) => e.headline.null_unsafe_branch.rate],
    ...["std_unsafe", "jb_co_task", "jb_co_text", "jb_misgen_tokens", "jb_misgen_text", "jb_co_comp"].map((s) => [`ASR ${s} ↓`, (e: SafetyEval) => e.headline.asr[s]?.rate ?? NaN] as [string, (e: SafetyEval) => number]),
  ];
  const cell = (run: string, f: (e: SafetyEval) => number) => {
    const vals = input.seeds.map((s) => input.evals[s]?.[run]).filter(Boolean).map((e) => 100 * f(e!)).filter(Number.isFinite);
    if (!vals.length) return "—";
    const m = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sd = vals.length > 1 ? Math.sqrt(vals.reduce((s, v) => s + (v - m) ** 2, 0) / (vals.length - 1)) : NaN;
    return vals.length > 1 ? `${m.toFixed(1)} ± ${sd.toFixed(1)}` : m.toFixed(1);
  };
  const n = input.evals[input.seeds[0]]?.pretrain?.n ?? "?";
  const head = `<tr><th>model</th>${cols.map(([c]) => `<th>${esc(c)}</th>`).join("")}</tr>`;
  const body = runs.map((r) => `<tr><td>${r === "pretrain" ? "instruction-tuned (IT)" : r.replace("_M", " η_M").replace("_S", " η_S")}</td>${cols.map(([, f]) => `<td>${cell(r, f)}</td>`).join("")}</tr>`).join("");
  if (teacher) return `<table>${head}${body}</table><p class="cap">Teacher-forced token accuracy in % over the output segments (the reference's metric). It overstates refusal: a model that refuses only after its first output token was forced still scores high, while greedy decoding complies.</p>`;
  return `<table>${head}${body}</table><p class="cap">Greedy exact match in % on held-out test data, n = ${n} items per set${input.seeds.length > 1 ? `, mean ± sd over ${input.seeds.length} seeds` : ""}. Instruct: safe twins of std_safe and std_unsafe answered correctly; Null: their unsafe prompts refused; ASR: the unsafe instruction followed exactly. Per-set counts, 95% intervals and teacher-forced scores are in results.json.</p>`;
}

function claimsTable(claims: ClaimResult[], seeds: number): string {
  const rows = claims.map((c) => `<tr class="${c.pass === null ? "na" : c.pass ? "pass" : "fail"}"><td>${c.id}</td><td>${esc(c.claim)}</td><td>${esc(c.criterion)}</td><td>${fmt(c.mean)}${seeds > 1 ? ` ± ${fmt(c.spread)}` : ""}</td><td>${c.pass === null ? "n/a" : c.pass ? "pass" : "fail"}</td></tr>`).join("");
  return `<table><tr><th>#</th><th>claim (paper.md §9)</th><th>criterion</th><th>measured${seeds > 1 ? " (mean ± sd)" : ""}</th><th>verdict</th></tr>${rows}</table>`;
}

function timingTable(t: StageTiming[]): string {
  const rows = t.map((x) => `<tr><td>${x.seed}</td><td>${esc(x.stage)}</td><td>${x.seconds.toFixed(1)}</td><td>${x.cached ? "cached" : ""}</td></tr>`).join("");
  return `<table><tr><th>seed</th><th>stage</th><th>seconds</th><th></th></tr>${rows}</table>`;
}

function inlineSvg(path: string): string {
  if (!existsSync(path)) return `<p class="cap">(missing: ${esc(path)})</p>`;
  // Strip the XML prolog if any; the SVG element itself is valid inside HTML.
  return readFileSync(path, "utf8").replace(/^<\?xml[^>]*>\s*/, "");
}

export function renderReport(input: ReportInput): string {
  const machine = Object.entries(input.machine).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(String(v))}</td></tr>`).join("");
  let figs = "";
  let lastSection = "";
  for (const [section, caption, path] of input.figures) {
    if (section !== lastSection) figs += `<h3>${esc(section)}</h3>`;
    lastSection = section;
    figs += `<figure>${inlineSvg(path)}<figcaption>${esc(caption)}</figcaption></figure>`;
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nullspace reproduction report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f4f4f4}tr.pass td:last-child{color:#1a7f37;font-weight:bold}tr.fail td:last-child{color:#b42318;font-weight:bold}
tr.na td:last-child{color:#777}.cap,figcaption{color:#555;font-size:13px}figure{margin:1em 0;overflow-x:auto}
</style></head><body>
<h1>What Makes and Breaks Safety Fine-tuning? — reproduction report</h1>
<p>Generated by <code>nullspace reproduce</code> on ${esc(new Date().toISOString())}: preset <b>${esc(input.preset)}</b>, seeds ${input.seeds.join(", ")}; sum of stage wall times ${(input.timings.reduce((a, t) => a + t.seconds, 0) / 60).toFixed(1)} min (this invocation: ${(input.wallSeconds / 60).toFixed(1)} min; cached stages keep the time they took when they ran).</p>
<h2>1. Setup</h2><table>${machine}</table>
<details><summary>Wall time per stage</summary>${timingTable(input.timings)}</details>
<h2>2. Safety and jailbreak evaluation</h2>${evalTable(input)}
<details><summary>Teacher-forced scores (the reference's metric)</summary>${evalTable(input, true)}</details>
<h2>3. Claims</h2>${claimsTable(input.claims, input.seeds.length)}
<p class="cap">Criteria are the proposed pass criteria of the reproduction spec (paper.md §9); the paper's own numbers are not available. A failed criterion at this scale is a finding, not an error.</p>
<h2>4. Figures (seed ${input.seeds[0]})</h2>
${input.trainingCurves ? `<h3>Training curves</h3><figure>${inlineSvg(input.trainingCurves)}</figure>` : ""}
${figs}
</body></html>
`;
}
