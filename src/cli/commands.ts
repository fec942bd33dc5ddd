/** Registry of sub-commands; each concern adds its own `register*` here. */
import type { Command } from "commander";
import { registerInspect } from "./inspect.js";
import { registerPretrain } from "./pretrain.js";
import { registerSafety } from "./safety.js";
import { registerEvaluate } from "./evaluate.js";
import { registerReproduce } from "./reproduce.js";
import { registerData } from "./data.js";
import { registerBench } from "./bench.js";
import { registerAttack } from "./attack.js";
import { registerAnalyze } from "./analyze.js";
import { registerLlm } from "./llm.js";

export function registerCommands(program: Command): void {
  registerInspect(program);
  registerPretrain(program);
  registerSafety(program);
  registerEvaluate(program);
  registerReproduce(program);
  registerData(program);
  registerBench(program);
  registerAttack(program);
  registerAnalyze(program);
  registerLlm(program);
}
