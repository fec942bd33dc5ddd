/**
 * `nullspace analyze <kind> --it DIR --st DIR`: the mechanistic analyses of an instruction-tuned / safety-tuned
 * pair of run directories. Writes `<kind>.json` plus SVG plots with their Vega-Lite specs under `<st>/analysis/`
 * (or --out). The data spec (seed, PCFGs, text length) comes from the runs' config.json `data` section; analyses
 * use the test split.
 */
import type { Command } from "commander";
import { analyze, ALL_KINDS, type AnalysisKind, type AnalyzeOptions } from "../analysis/driver.js";
import { DEFAULT_ALPHAS } from "../analysis/interventions.js";
import { UserError } from "../util/errors.js";

export function registerAnalyze(program: Command): void {
  program
    .command("analyze")
    .description("mechanistic analyses of an IT/ST pair: clustering (Fig. 3), columnspace (Fig. 4), rowspace (Fig. 5), spectrum, lipschitz (Fig. 6), jailbreaks (Fig. 7), all of these, or interventions (W_IT + α·ΔW)")
    .argument("<kind>", `one of ${ALL_KINDS.join(", ")}`)
    .requiredOption("--it <dir>", "instruction-tuned run directory (model.safetensors + config.json)")
    .requiredOption("--st <dir>", "safety-tuned run directory")
    .option("--out <dir>", "output directory (default <st>/analysis)")
    .option("--n <n>", "test inputs per group (safe, unsafe, each jailbreak set)", "400")
    .option("--ref-n <n>", "reference inputs per group for the cluster means (default: --n)")
    .option("--units <n>", "clustering: keep only the first n MLP units (the reference used 192)")
    .option("--checkpoints <dirs...>", "spectrum: checkpoint dirs to track ΔW over (default <st>/checkpoints/step-*)")
    .option("--jb-n <n>", "items per evaluation set for jailbreak success (cached in <st>/evaluation.json, as `nullspace evaluate --n`) and for each α of interventions", "200")
    .option("--no-success-filter", "jailbreaks: keep every prompt, not only successful jailbreaks")
    .option("--alphas <list>", `interventions: α values (default ${DEFAULT_ALPHAS.join(",")})`)
    .option("--base <dir>", "interventions: apply ΔW = W_ST − W_IT to this model instead of W_IT (transfer)")
    .option("--json", "print a JSON summary (paths, one-line summaries, seconds)")
    .action(async (kind: string, o: AnalyzeOptions) => {
      if (!ALL_KINDS.includes(kind)) throw new UserError(`unknown analysis "${kind}" (expected one of ${ALL_KINDS.join(", ")})`);
      const log = o.json ? () => {} : (line: string) => process.stdout.write(line + "\n");
      const r = await analyze(kind as AnalysisKind | "all", o, log);
      if (o.json) process.stdout.write(JSON.stringify(r) + "\n");
    });
}
