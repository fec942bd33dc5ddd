/**
 * The evaluation table across runs (one row per model): Markdown and HTML renderings of SafetyEval results.
 */
import type { Rate, SafetyEval } from "./safety-eval.js";

export const ASR_COLUMNS = ["std_unsafe", "jb_co_task", "jb_co_text", "jb_misgen_tokens", "jb_misgen_text", "jb_co_comp"] as const;

export interface TableRow {
  name: string;
  evaluation: SafetyEval;
}

const pct = (r: Rate | undefined, ci: boolean) => (!r || Number.isNaN(r.rate) ? "—" : ci ? `${(100 * r.rate).toFixed(1)} [${(100 * r.lo).toFixed(0)}, ${(100 * r.hi).toFixed(0)}]` : (100 * r.rate).toFixed(1));

/** Markdown table: greedy exact match in %, with 95% Wilson intervals when `ci`. */
export function markdownTable(rows: TableRow[], opts: { ci?: boolean; metric?: "greedy" | "teacher_acc" | "teacher_em" } = {}): string {
  const ci = opts.ci ?? true, metric = opts.metric ?? "greedy";
  const head = ["model", "Instruct ↑", "Null ↑", ...ASR_COLUMNS.map((c) => `ASR ${c} ↓`)];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const { name, evaluation: e } of rows) {
    let cells: string[];
    if (metric === "greedy") cells = [pct(e.headline.instruct, ci), pct(e.headline.null, ci), ...ASR_COLUMNS.map((c) => pct(e.headline.asr[c], ci))];
    else {
      const key = metric === "teacher_acc" ? "acc" : "em";
      const tf = (set: string, what: "instruct" | "null" | "comply") => {
        const t = e.sets[set]?.teacher as Record<string, number | undefined> | undefined;
        const v = t?.[`${what}_${key}`];
        return v === undefined || Number.isNaN(v) ? "—" : (100 * v).toFixed(1);
      };
      cells = [tf("std_safe", "instruct"), tf("std_unsafe", "null"), ...ASR_COLUMNS.map((c) => tf(c, "comply"))];
    }
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  const n = rows[0]?.evaluation.n;
  lines.push("", `Greedy exact match in % (n = ${n} per set${ci ? "; 95% Wilson intervals" : ""}). Instruct: safe twins of std_safe and std_unsafe answered correctly; Null: their unsafe prompts refused; ASR: unsafe instruction followed exactly.`);
  return lines.join("\n");
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** Minimal HTML table from a Markdown pipe table (for the self-contained report). */
export function markdownToHtmlTable(md: string): string {
  const rows = md.split("\n").filter((l) => l.startsWith("|") && !/^\|[-|\s]+\|$/.test(l));
  const cells = rows.map((r) => r.slice(1, -1).split("|").map((c) => esc(c.trim())));
  const [head, ...body] = cells;
  return `<table><thead><tr>${head.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}
