/** Embedding-space and discrete adversarial attacks (paper §5, Fig. 7): soft tokens, GCG, sweeps, artifacts. */
export * from "./types.js";
export { insertSoft, positionTable, positionHooks, foldPositions, defaultEps, defaultLr, projectVector, stepVector, vectorNorm, modelForLength, type AttackNorm, type SoftOptimizer } from "./embed.js";
export { buildGroups, chunkGroups, sliceGroup, type AttackGroup, type SlotPositions } from "./layout.js";
export { groupLoss, teacherForced, greedyFromEmbeds, scoreGroup, type RowScore } from "./score.js";
export { softAttack, type SoftRun } from "./soft.js";
export { gcgAttack, allowedTokens, type GcgRun } from "./gcg.js";
export { runAttack, type AttackSpec } from "./attack.js";
export { writeAttackArtifacts, readAttackInputs, ATTACK_JSON, ATTACK_INPUTS, type AttackInputs } from "./artifacts.js";
export { attackRun, attackItems, loadRun, defaultAttackDir, type RunAttackOptions } from "./run.js";
export { runSweep, sweepSpec, parseEps, type EpsValue, type SweepOptions, type SweepRow, type SweepResult } from "./sweep.js";
