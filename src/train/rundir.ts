/**
 * Run directories: `runs/<name>/{config.json, metrics.jsonl, model.safetensors, optimizer.safetensors, state.json}`.
 *
 * Resume state is made atomic by putting *everything* needed to continue (parameters, AdamW moments, step) into
 * optimizer.safetensors, which is replaced in one rename; model.safetensors (weights only, for users and Python)
 * and state.json (for people) are written after it. A kill at any moment leaves a consistent resume point.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, accessSync, constants } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { readSafetensors, writeSafetensors, type TensorF32 } from "../io/safetensors.js";
import type { AdamW } from "../engine/optim.js";
import type { GPT } from "../model/gpt.js";
import { saveModel } from "../model/checkpoint.js";
import { UserError } from "../util/errors.js";

export interface CheckpointState {
  step: number;
  /** Anything else the stage wants back on resume (best eval, data position, RNG words). */
  extra: Record<string, unknown>;
}

export class RunDir {
  constructor(readonly dir: string) {}

  path(file: string): string {
    return join(this.dir, file);
  }

  /** Creates the directory and checks it is writable, with a one-line error otherwise. */
  ensure(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      accessSync(this.dir, constants.W_OK);
    } catch (e) {
      throw new UserError(`${this.dir}: cannot create or write the run directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }

  hasCheckpoint(): boolean {
    return existsSync(this.path("optimizer.safetensors"));
  }

  writeConfig(config: unknown): void {
    writeJsonAtomic(this.path("config.json"), config);
  }

  readConfig(): unknown {
    const p = this.path("config.json");
    try {
      return JSON.parse(readFileSync(p, "utf8"));
    } catch (e) {
      throw new UserError(`${p}: cannot read run config (${(e as Error).message.split("\n")[0]})`);
    }
  }

  appendMetrics(row: Record<string, unknown>): void {
    appendFileSync(this.path("metrics.jsonl"), JSON.stringify(row) + "\n");
  }

  readMetrics(): Record<string, any>[] {
    const p = this.path("metrics.jsonl");
    if (!existsSync(p)) return [];
    return readFileSync(p, "utf8").split("\n").filter((l) => l.trim()).flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return []; // a torn last line from a kill
      }
    });
  }

  /** Drops metrics rows logged after `step` (they will be re-logged identically by the resumed run). */
  truncateMetrics(step: number): void {
    const rows = this.readMetrics().filter((r) => typeof r.step !== "number" || r.step <= step);
    writeFileAtomic(this.path("metrics.jsonl"), rows.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  saveCheckpoint(model: GPT, opt: AdamW, state: CheckpointState): void {
    const tensors: Record<string, TensorF32> = {};
    for (const [name, t] of model.params) tensors[`param.${name}`] = { shape: t.shape, data: t.data };
    for (const [k, v] of Object.entries(opt.stateTensors())) tensors[k] = v;
    const meta = { step: String(state.step), adam_step: String(opt.step), extra: JSON.stringify(state.extra), model_config: JSON.stringify(model.config) };
    writeSafetensors(this.path("optimizer.safetensors"), tensors, meta);
    saveModel(this.dir, model, { writeConfig: false });
    writeJsonAtomic(this.path("state.json"), { step: state.step, adam_step: opt.step, ...state.extra });
  }

  /** Restores parameters and optimizer moments in place; returns the saved state. */
  loadCheckpoint(model: GPT, opt: AdamW): CheckpointState {
    const file = this.path("optimizer.safetensors");
    const { tensors, metadata } = readSafetensors(file);
    const step = Number(metadata.step), adamStep = Number(metadata.adam_step);
    if (!Number.isInteger(step) || step < 0 || !Number.isInteger(adamStep)) throw new UserError(`${file}: metadata "step" missing or invalid`);
    if (metadata.model_config !== JSON.stringify(model.config)) throw new UserError(`${file}: checkpoint was written for a different model config (${metadata.model_config})`);
    for (const [name, t] of model.params) {
      const saved = tensors.get(`param.${name}`);
      if (!saved) throw new UserError(`${file}: missing tensor "param.${name}"`);
      if (saved.data.length !== t.size) throw new UserError(`${file}: tensor "param.${name}" has ${saved.data.length} values, expected ${t.size}`);
      t.data.set(saved.data);
    }
    try {
      opt.loadStateTensors(tensors, adamStep);
    } catch (e) {
      throw new UserError(`${file}: ${(e as Error).message}`);
    }
    let extra: Record<string, unknown> = {};
    try {
      extra = metadata.extra ? JSON.parse(metadata.extra) : {};
    } catch {
      throw new UserError(`${file}: metadata "extra" is not valid JSON`);
    }
    return { step, extra };
  }
}
