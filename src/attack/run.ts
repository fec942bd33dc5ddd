/** Attacks on a run directory: its model, the test split of the data it was trained with, default artifact paths. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkEvalSet, EvalSampler, type EvalItem, type EvalSetName } from "../data/evalsets.js";
import type { DataSpec } from "../data/sample.js";
import { runDataSpec } from "../eval/run-eval.js";
import { loadModel } from "../model/checkpoint.js";
import type { GPT } from "../model/gpt.js";
import { UserError } from "../util/errors.js";
import { runAttack, type AttackSpec } from "./attack.js";
import { writeAttackArtifacts } from "./artifacts.js";
import type { AttackOutput } from "./types.js";

/** The first n test items of a set (the evaluation module's items, so indices line up with `nullspace evaluate`). */
export function attackItems(spec: DataSpec, set: EvalSetName, n: number, length?: number): EvalItem[] {
  let s: DataSpec = { ...spec, split: "test" };
  if (set === "jb_misgen_tokens" && s.pcfgs?.includes(2)) s = { ...s, pcfgs: s.pcfgs.filter((k) => k !== 2) };
  const sampler = new EvalSampler(s, set);
  return Array.from({ length: n }, (_, i) => sampler.item(i, length));
}

/** Loads a run directory's model and test data spec (one-line errors for the usual mistakes). */
export function loadRun(dir: string): { model: GPT; spec: DataSpec } {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such run directory`);
  if (!existsSync(join(dir, "model.safetensors"))) throw new UserError(`${dir}: no model.safetensors (is the run finished?)`);
  const d = runDataSpec(dir);
  return { model: loadModel(dir), spec: { seed: d.seed, pcfgs: d.pcfgs, textLength: d.textLength, split: "test" } };
}

/** `<run>/attacks/<set>-<method>-n<N>-s<steps>` plus markers for non-default settings. */
export function defaultAttackDir(runDir: string, set: string, spec: AttackSpec): string {
  let name = `${set}-${spec.method}-n${spec.tokens}-s${spec.steps}`;
  if (spec.universal) name += "-univ";
  if (spec.positions === "shift") name += "-shift";
  if (spec.method === "soft") {
    if (spec.norm !== "l2") name += `-${spec.norm}`;
    if (spec.eps !== undefined) name += `-e${+spec.eps.toPrecision(4)}`;
  }
  return join(runDir, "attacks", name);
}

export interface RunAttackOptions {
  set: string;
  /** Items (the first n of the set's test split). */
  n: number;
  /** Draw items with this text length instead of the run's (e.g. to fit a tight block). */
  length?: number;
  out?: string;
  saveAll?: boolean;
  /** Write no files. */
  dryRun?: boolean;
}

/** Attacks a run's model on one set and writes the artifacts. */
export function attackRun(dir: string, spec: AttackSpec, o: RunAttackOptions, loaded?: { model: GPT; spec: DataSpec }): AttackOutput & { dir?: string; saved?: number } {
  const set = checkEvalSet(o.set);
  const { model, spec: data } = loaded ?? loadRun(dir);
  const items = attackItems(data, set, o.n, o.length);
  const out = runAttack(model, items, spec);
  out.result.set = set;
  out.result.model = dir;
  if (o.dryRun) return out;
  const target = o.out ?? defaultAttackDir(dir, set, spec);
  const saved = writeAttackArtifacts(target, out, { saveAll: o.saveAll });
  return { ...out, dir: target, saved };
}
