/** `nullspace pretrain`: pre-training + instruction tuning into a run directory. */
import type { Command } from "commander";
import { checkPreset, pretrainPreset } from "../stages/presets.js";
import { runPretrain } from "../stages/pretrain.js";
import { collect, mdTable, parseSeed, resolveConfig } from "./runargs.js";

export function registerPretrain(program: Command): void {
  program
    .command("pretrain")
    .description("pre-train and instruction-tune a minGPT on the synthetic PCFG tasks (one run, with the reference curriculum)")
    .option("--preset <name>", "tiny | cpu | paper", "cpu")
    .option("--out <dir>", "run directory", "runs/pretrain")
    .option("--seed <n>", "seed for weights and data (default: the preset's)")
    .option("--set <key=value>", "override a config field, e.g. --set model.n_layer=4 (repeatable)", collect, [])
    .option("--resume", "continue the run in --out from its last checkpoint")
    .option("--quiet", "no progress output")
    .option("--json", "print the final summary as JSON")
    .action((opts: { preset: string; out: string; seed?: string; set: string[]; resume?: boolean; quiet?: boolean; json?: boolean }) => {
      const cfg = resolveConfig(pretrainPreset(checkPreset(opts.preset)), parseSeed(opts.seed), opts.set);
      const r = runPretrain(cfg, { out: opts.out, resume: !!opts.resume, quiet: opts.quiet });
      const ev = r.lastEval ?? {};
      if (opts.json) {
        process.stdout.write(JSON.stringify({ out: opts.out, steps: r.steps, wall_seconds: r.wallSeconds, tokens_per_s: r.tokensPerSecond, final_loss: r.finalLoss, eval: ev }) + "\n");
        return;
      }
      const rows: [string, string | number][] = [["steps", r.steps], ["wall time (s)", +r.wallSeconds.toFixed(1)], ["tokens/s", Math.round(r.tokensPerSecond)], ["final train loss", r.finalLoss]];
      for (const k of Object.keys(ev).sort()) rows.push([k, ev[k]]);
      process.stdout.write(`\n${mdTable(["pretrain " + opts.out, "value"], rows)}\n`);
    });
}
