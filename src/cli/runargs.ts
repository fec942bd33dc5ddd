/** CLI plumbing shared by the training commands: preset + --seed + --set → a resolved, validated config. */
import { applyOverrides } from "../config/overrides.js";
import { UserError } from "../util/errors.js";

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseSeed(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s)) throw new UserError(`--seed must be a non-negative integer, got "${s}"`);
  return Number(s);
}

/** Applies --seed (to both the run seed and the data seed) and --set overrides. */
export function resolveConfig<T extends { seed: number; data: { seed: number } }>(base: T, seed: number | undefined, sets: string[] | undefined): T {
  let cfg = base;
  if (seed !== undefined) cfg = { ...cfg, seed, data: { ...cfg.data, seed } };
  return applyOverrides(cfg, sets ?? []);
}

/** A Markdown table from rows of [key, value]. */
export function mdTable(head: [string, string], rows: [string, string | number][]): string {
  const fmt = (v: string | number) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v);
  return [`| ${head[0]} | ${head[1]} |`, "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${fmt(v)} |`)].join("\n");
}
