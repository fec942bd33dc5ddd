/** `nullspace safety-finetune`: SSFT, DPO or unlearning from a checkpoint. */
import type { Command } from "commander";
import { checkPreset } from "../stages/presets.js";
import { checkMethod, checkRegime, overrideSafetyConfig, resolveSafetyConfig, runSafety } from "../stages/safety.js";
import { safetyPreset } from "../stages/safety-presets.js";
import { collect, mdTable, parseSeed } from "./runargs.js";

export function registerSafety(program: Command): void {
  program
    .command("safety-finetune")
    .description("safety fine-tune a checkpoint with SSFT, DPO or unlearning (any method from any checkpoint)")
    .requiredOption("--method <m>", "ssft | dpo | unlearn")
    .requiredOption("--from <dir>", "run directory to start from (instruction-tuned or another safety run)")
    .option("--lr <regime>", "learning-rate regime: M (medium, η_M) or S (small, η_S)", "M")
    .option("--preset <name>", "tiny | cpu | paper", "cpu")
    .option("--out <dir>", "run directory (default runs/<method>_<lr>)")
    .option("--seed <n>", "seed for data and batch draws")
    .option("--set <key=value>", "override a config field, e.g. --set loss.beta_w=0.2 (repeatable)", collect, [])
    .option("--resume", "continue the run in --out from its last checkpoint")
    .option("--quiet", "no progress output")
    .option("--json", "print the final summary as JSON")
    .action((opts: { method: string; from: string; lr: string; preset: string; out?: string; seed?: string; set: string[]; resume?: boolean; quiet?: boolean; json?: boolean }) => {
      const method = checkMethod(opts.method), regime = checkRegime(opts.lr);
      let base = safetyPreset(checkPreset(opts.preset));
      const seed = parseSeed(opts.seed);
      if (seed !== undefined) base = { ...base, seed, data: { ...base.data, seed } };
      const cfg = overrideSafetyConfig(resolveSafetyConfig(base, method, regime, opts.from), opts.set);
      const out = opts.out ?? `runs/${method}_${regime}`;
      const r = runSafety(cfg, { out, resume: !!opts.resume, quiet: opts.quiet });
      const ev = r.lastEval ?? {};
      if (opts.json) {
        process.stdout.write(JSON.stringify({ out, method, lr_regime: regime, steps: r.steps, wall_seconds: r.wallSeconds, final_loss: r.finalLoss, eval: ev }) + "\n");
        return;
      }
      const rows: [string, string | number][] = [["steps", r.steps], ["wall time (s)", +r.wallSeconds.toFixed(1)], ["final train loss", r.finalLoss]];
      for (const k of Object.keys(ev)) rows.push([k, ev[k]]);
      process.stdout.write(`\n${mdTable([`${method} η_${regime} ${out}`, "value"], rows)}\n`);
    });
}
