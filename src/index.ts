/** Library entry: `import { ... } from "nullspace"`. */
export { UserError } from "./util/errors.js";
export * from "./engine/index.js";
export * from "./model/index.js";
export * from "./io/index.js";
export * from "./train/trainer.js";
export * from "./train/schedule.js";
export * from "./train/rundir.js";
export * from "./train/step.js";
export * from "./config/overrides.js";
export * as data from "./data/index.js";
export * from "./safety/losses.js";
export * from "./eval/safety-eval.js";
export * from "./eval/pretrain-eval.js";
export * from "./eval/generate.js";
export * as analysis from "./analysis/index.js";
export * as plot from "./plot/index.js";
export * as attack from "./attack/index.js";
export * as reproduce from "./reproduce/claims.js";
