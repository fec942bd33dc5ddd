/** Command-line option values shared by every command: one-line errors naming the flag. */
import { UserError } from "./errors.js";

/** An integer option in [lo, hi]; `flag` includes the dashes ("--steps"). */
export function intOption(flag: string, v: string, lo: number, hi = 1 << 20): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < lo || Number(v) > hi) throw new UserError(`${flag} must be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
  return Number(v);
}
