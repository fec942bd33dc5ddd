/**
 * Stage caching for `nullspace reproduce`: each stage owns a directory with a `stage.json` recording the hash of
 * its resolved config and of its inputs' hashes. Re-running skips stages whose hash matches and that finished;
 * an interrupted stage (status "running") is resumed; a stage whose inputs or config changed is moved aside
 * (never deleted) and run again.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";

/** Canonical JSON (sorted keys) so hashes do not depend on property order. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

export function stageHash(config: unknown, inputs: string[] = []): string {
  return createHash("sha256").update(canonical(config)).update("\0" + inputs.join("\0")).digest("hex").slice(0, 16);
}

export interface StageRecord {
  name: string;
  hash: string;
  status: "running" | "done";
  started: string;
  finished?: string;
  wall_seconds?: number;
  /** Accumulated over interrupted attempts. */
  attempts: number;
}

export type StageState = "done" | "resume" | "fresh";

/** Decides what to do with a stage directory; moves a stale one aside. */
export function prepareStage(dir: string, name: string, hash: string): { state: StageState; record: StageRecord | null } {
  const p = join(dir, "stage.json");
  if (!existsSync(p)) {
    if (existsSync(dir)) {
      // Work from an earlier run without a record (e.g. killed before stage.json): keep it, but start clean.
      renameSync(dir, `${dir}.stale-${Date.now()}`);
    }
    return { state: "fresh", record: null };
  }
  let rec: StageRecord | null = null;
  try {
    rec = JSON.parse(readFileSync(p, "utf8")) as StageRecord;
  } catch {
    rec = null;
  }
  if (!rec || rec.hash !== hash) {
    renameSync(dir, `${dir}.stale-${rec?.hash ?? "unknown"}-${Date.now()}`);
    return { state: "fresh", record: null };
  }
  return { state: rec.status === "done" ? "done" : "resume", record: rec };
}

export function markRunning(dir: string, name: string, hash: string, prev: StageRecord | null): StageRecord {
  const rec: StageRecord = { name, hash, status: "running", started: prev?.started ?? new Date().toISOString(), attempts: (prev?.attempts ?? 0) + 1, wall_seconds: prev?.wall_seconds ?? 0 };
  writeJsonAtomic(join(dir, "stage.json"), rec);
  return rec;
}

export function markDone(dir: string, rec: StageRecord, seconds: number): StageRecord {
  const done: StageRecord = { ...rec, status: "done", finished: new Date().toISOString(), wall_seconds: (rec.wall_seconds ?? 0) + seconds };
  writeJsonAtomic(join(dir, "stage.json"), done);
  return done;
}
