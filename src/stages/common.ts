/** What every training stage shares: opening a run directory safely and comparing configs on resume. */
import { existsSync } from "node:fs";
import { RunDir } from "../train/rundir.js";
import { UserError } from "../util/errors.js";

/** First differing dotted key between two JSON values, or null when equal. */
export function firstDifference(a: unknown, b: unknown, path = ""): string | null {
  if (a === b) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path || "(root)";
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return null;
}

/**
 * Opens `out` for a run of `config`. A directory that already holds a checkpoint is never overwritten: without
 * `resume` that is an error, with `resume` the saved config must equal the requested one.
 */
export function openRun(out: string, config: unknown, resume: boolean): RunDir {
  const run = new RunDir(out);
  run.ensure();
  if (run.hasCheckpoint()) {
    if (!resume) throw new UserError(`${out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
    const saved = run.readConfig();
    const diff = firstDifference(saved, config);
    if (diff) throw new UserError(`${out}/config.json differs from the requested config at "${diff}"; resume with the same preset and --set values`);
  } else if (!existsSync(run.path("config.json")) || !resume) run.writeConfig(config);
  else {
    // A run killed before its first checkpoint: start over, but only if the config matches.
    const diff = firstDifference(run.readConfig(), config);
    if (diff) throw new UserError(`${out}/config.json differs from the requested config at "${diff}"`);
  }
  return run;
}
