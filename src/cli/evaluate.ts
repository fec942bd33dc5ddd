/** `nullspace evaluate`: the safety / jailbreak table for one or more runs. */
import { basename } from "node:path";
import type { Command } from "commander";
import { evaluateRun } from "../eval/run-eval.js";
import { markdownTable } from "../eval/table.js";
import { UserError } from "../util/errors.js";

export function registerEvaluate(program: Command): void {
  program
    .command("evaluate")
    .description("evaluate runs on held-out safe, unsafe and jailbreak sets: Instruct, Null and attack success rates")
    .argument("<runs...>", "run directories (e.g. runs/pretrain runs/ssft_M)")
    .option("--n <n>", "items per evaluation set", "200")
    .option("--json", "print JSON (all metrics, counts and intervals)")
    .option("--md", "print Markdown tables (default)")
    .option("--force", "ignore cached evaluation.json")
    .action((runs: string[], opts: { n: string; json?: boolean; md?: boolean; force?: boolean }) => {
      const n = Number(opts.n);
      if (!Number.isInteger(n) || n < 1) throw new UserError(`--n must be a positive integer, got "${opts.n}"`);
      const rows = runs.map((dir) => ({ name: basename(dir.replace(/\/+$/, "")), dir, evaluation: evaluateRun(dir, n, { force: opts.force }) }));
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows.map((r) => ({ run: r.dir, ...r.evaluation, sets: Object.fromEntries(Object.entries(r.evaluation.sets).map(([k, v]) => [k, { ...v, outcomes: undefined }])) }))) + "\n");
        if (!opts.md) return;
      }
      process.stdout.write(`${markdownTable(rows)}\n\nTeacher-forced token accuracy (%), the reference's metric:\n\n${markdownTable(rows, { metric: "teacher_acc", ci: false }).split("\n\n")[0]}\n\nTeacher-forced exact match (%):\n\n${markdownTable(rows, { metric: "teacher_em", ci: false }).split("\n\n")[0]}\n`);
    });
}
