/** `nullspace reproduce`: the whole paper, one command, cached by stage. */
import type { Command } from "commander";
import { checkPreset } from "../stages/presets.js";
import { reproduce } from "../reproduce/run.js";
import { UserError } from "../util/errors.js";
import { collect } from "./runargs.js";

/** "3" → [0, 1, 2]; "2..4" → [2, 3, 4]; "0,5,7" → [0, 5, 7]. */
export function parseSeeds(text: string): number[] {
  const t = text.trim();
  let seeds: number[];
  if (/^\d+$/.test(t)) seeds = Array.from({ length: Number(t) }, (_, i) => i);
  else if (/^\d+\.\.\d+$/.test(t)) {
    const [a, b] = t.split("..").map(Number);
    if (b < a) throw new UserError(`--seeds ${t}: empty range`);
    seeds = Array.from({ length: b - a + 1 }, (_, i) => a + i);
  } else if (/^\d+(,\d+)+$/.test(t)) seeds = t.split(",").map(Number);
  else throw new UserError(`--seeds must be a count (3), a range (0..2) or a list (0,5,7), got "${text}"`);
  if (seeds.length === 0 || seeds.length > 100) throw new UserError(`--seeds: between 1 and 100 seeds, got ${seeds.length}`);
  return seeds;
}

export function registerReproduce(program: Command): void {
  program
    .command("reproduce")
    .description("data → pre-training → SSFT/DPO/unlearning at η_M and η_S → evaluation → analyses → report.html (cached by stage; re-run to resume)")
    .option("--preset <name>", "tiny | cpu | paper", "cpu")
    .option("--seeds <spec>", "number of seeds (3), a range (0..2) or a list (0,5,7)", "1")
    .option("--out <dir>", "output directory", "runs/repro")
    .option("--set <key=value>", "override a pre-training config field (repeatable)", collect, [])
    .option("--safety-set <key=value>", "override a safety fine-tuning config field (repeatable)", collect, [])
    .option("--quiet", "only stage lines, no progress bars")
    .action(async (opts: { preset: string; seeds: string; out: string; set: string[]; safetySet: string[]; quiet?: boolean }) => {
      const preset = checkPreset(opts.preset);
      const seeds = parseSeeds(opts.seeds);
      const t0 = Date.now();
      const log = (s: string) => process.stderr.write(`${s}\n`);
      const r = await reproduce(
        {
          preset, seeds, out: opts.out, pretrainSets: opts.set, safetySets: opts.safetySet, quiet: opts.quiet,
          onStage: (i, total, label, state) => {
            const el = (Date.now() - t0) / 1000;
            log(`▶ [${i}/${total}] ${label}${state === "done" ? " (cached)" : state === "resume" ? " (resuming)" : ""}  — elapsed ${Math.floor(el / 60)}m${String(Math.round(el % 60)).padStart(2, "0")}s`);
          },
        },
        log,
      );
      const pass = r.claims.filter((c) => c.pass === true).length, fail = r.claims.filter((c) => c.pass === false).length;
      process.stdout.write(`report: ${r.report}\nresults: ${r.results}\nclaims: ${pass} pass, ${fail} fail, ${r.claims.length - pass - fail} not measurable\n`);
      for (const c of r.claims) process.stdout.write(`  ${c.id.padEnd(3)} ${c.pass === null ? "n/a " : c.pass ? "PASS" : "FAIL"}  ${c.mean.toFixed(3)}  ${c.claim}\n`);
    });
}
