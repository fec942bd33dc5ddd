/**
 * `nullspace llm analyze --base DIR --chat DIR`: the paper's Llama validation (§7) on a pair of local Hugging Face
 * Llama-architecture checkpoints (config.json, safetensors shards, tokenizer.json). Writes llm-analysis.json,
 * llm-report.md and plots/*.svg under --out.
 */
import type { Command } from "commander";
import { LLM_MATRICES, LLM_PARTS, llmAnalyze, type LlmPart } from "../llm/analyze.js";
import type { LlamaMlpMatrix } from "../llm/deltaw.js";
import { UserError } from "../util/errors.js";
import { intOption } from "../util/options.js";
import { parseSeed } from "./runargs.js";

/** A comma-separated list of non-negative integers, with ranges: "0,4,8-11". */
export function parseIntList(s: string, flag: string): number[] {
  const out: number[] = [];
  for (const part of s.split(",").map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UserError(`${flag}: "${part}" is not an integer or a range a-b (e.g. 0,4,8-11)`);
    const a = Number(m[1]), b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new UserError(`${flag}: range ${part} is empty`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  if (out.length === 0) throw new UserError(`${flag}: no values given`);
  return out;
}

function parsePositive(s: string | undefined, flag: string): number | undefined {
  return s === undefined ? undefined : intOption(flag, s, 1);
}

function parseChoices<T extends string>(s: string, flag: string, valid: readonly T[]): T[] {
  const xs = s.split(",").map((x) => x.trim()).filter(Boolean);
  for (const x of xs) if (!(valid as readonly string[]).includes(x)) throw new UserError(`${flag}: "${x}" is not one of ${valid.join(", ")}`);
  return xs as T[];
}

interface LlmCliOptions {
  base: string; chat: string; out: string; prompts?: string; layers?: string; hook: string; window: string;
  matrices?: string; only?: string; perGroup?: string; maxVectors?: string; seed: string; json?: boolean; quiet?: boolean;
}

export function registerLlm(program: Command): void {
  const llm = program.command("llm").description("analyses of real Llama-architecture checkpoints (Hugging Face format)");
  llm
    .command("analyze")
    .description("base vs chat: τ clustering per layer, jailbreak prompts in activation space, ΔW = W_chat − W_base against the null space of W_base")
    .requiredOption("--base <dir>", "base model directory (config.json, model*.safetensors [+ index], tokenizer.json)")
    .requiredOption("--chat <dir>", "chat / safety-tuned model directory, same architecture")
    .option("--out <dir>", "output directory", "runs/llm")
    .option("--prompts <file>", "JSONL prompt set (default: the shipped data/llm/prompts.jsonl)")
    .option("--layers <list>", "blocks to analyse, e.g. 0,8,16-31 (default: all)")
    .option("--hook <name>", "hook inside each block whose activations are clustered", "mlp.hook_post")
    .option("--window <n>", "prompt positions averaged, counted from the end", "5")
    .option("--matrices <list>", `ΔW matrices (default ${LLM_MATRICES.join(",")})`)
    .option("--only <parts>", `run only some parts: ${LLM_PARTS.join(", ")}`)
    .option("--per-group <n>", "at most n prompts per (family, label, split) group")
    .option("--max-vectors <n>", "ΔW singular vectors tested per matrix (default 64)")
    .option("--seed <n>", "seed of the randomized SVD and the sampled baseline", "0")
    .option("--json", "print the result summary as JSON")
    .option("--quiet", "no progress lines")
    .action(async (o: LlmCliOptions) => {
      const log = o.quiet || o.json ? () => {} : (line: string) => process.stderr.write(line + "\n");
      const { result, files } = await llmAnalyze({
        base: o.base, chat: o.chat, out: o.out, prompts: o.prompts, hook: o.hook, log,
        layers: o.layers !== undefined ? parseIntList(o.layers, "--layers") : undefined,
        window: parsePositive(o.window, "--window"),
        matrices: o.matrices !== undefined ? parseChoices<LlamaMlpMatrix>(o.matrices, "--matrices", LLM_MATRICES) : undefined,
        parts: o.only !== undefined ? parseChoices<LlmPart>(o.only, "--only", LLM_PARTS) : undefined,
        perGroup: parsePositive(o.perGroup, "--per-group"),
        maxVectors: parsePositive(o.maxVectors, "--max-vectors"),
        seed: parseSeed(o.seed),
      });
      if (o.json) process.stdout.write(JSON.stringify({ files, seconds: result.seconds, layers: result.layers, models: result.models }) + "\n");
      else process.stdout.write(files.map((f) => `wrote ${f}`).join("\n") + "\n");
    });
}
