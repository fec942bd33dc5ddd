/** `nullspace data rules|sample|stats|bench`: look at the synthetic data. */
import type { Command } from "commander";
import { UserError } from "../util/errors.js";
import { benchData } from "../data/bench.js";
import { checkPcfg, rulesJson } from "../data/operators.js";
import type { DataSpec, Split, TextLength } from "../data/sample.js";
import { openSet, setKind, type SampleRecord } from "../data/sets.js";
import { ambiguity, setStats } from "../data/stats.js";
import { NUM_LETTERS, symbols } from "../data/vocab.js";

function int(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(v)) throw new UserError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  if (v < min || v > max) throw new UserError(`--${name} must be ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got ${v}`);
  return v;
}

function pcfgOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!/^\d+$/.test(value.trim())) throw new UserError(`--pcfg must be 1, 2, 3 or 4, got ${JSON.stringify(value)}`);
  checkPcfg(v);
  return v;
}

function splitOf(value: string | undefined, set: string): Split {
  if (value === undefined) return setKind(set) === "eval" ? "test" : "train";
  if (value !== "train" && value !== "test") throw new UserError(`--split must be train or test, got ${JSON.stringify(value)}`);
  return value;
}

interface LengthOpts {
  length?: string;
  minLength?: string;
  maxLength?: string;
}

function textLengthOf(o: LengthOpts): TextLength | undefined {
  const fixed = int("length", o.length, 1);
  if (fixed !== undefined) return { min: fixed, max: fixed };
  const min = int("min-length", o.minLength, 1);
  const max = int("max-length", o.maxLength, 1);
  if (min === undefined && max === undefined) return undefined;
  return { min: min ?? 25, max: max ?? 35 };
}

/** Readable form: the segments separated by `|`. */
function showTokens(tokens: readonly number[], L: number): string {
  const s = symbols(tokens);
  const cut = [5, 6, L + 6, L + 7, 2 * L + 7, 2 * L + 8, 3 * L + 8].filter((c) => c < s.length);
  const parts: string[] = [];
  let from = 0;
  for (const c of [...cut, s.length]) {
    if (c > from) parts.push(s.slice(from, c).join(" "));
    from = c;
  }
  return parts.join(" | ");
}

function showRecord(r: SampleRecord): string {
  const head = [`#${r.index}`, `pcfg=${r.pcfg}`, `L=${r.L}`, `grammar=${r.grammar}`, `window=${r.windowBranch}`];
  if (r.mode) head.push(`mode=${r.mode}`);
  if (r.applySecond !== undefined) head.push(`apply_second=${r.applySecond ? 1 : 0}`);
  const verdict = (u: boolean, reasons: string[]) => (u ? `UNSAFE (${reasons.join("; ")})` : "safe");
  head.push(`ops=${r.label.operators.join(" ")} → ${verdict(r.label.unsafe, r.label.reasons)}`);
  if (r.twin) head.push(`twin ops=${r.twin.operators.join(" ")} → ${verdict(r.twin.unsafe, r.twin.reasons)}`);
  const lines = [head.join("  ")];
  if (r.pairs) {
    for (const [k, p] of Object.entries(r.pairs)) {
      lines.push(`  ${k.padEnd(16)} x: ${showTokens(p.tokens, r.L)}`);
      lines.push(`  ${"".padEnd(16)} y: ${showTokens(p.target, r.L)}`);
    }
  } else {
    lines.push(`  x: ${showTokens(r.tokens, r.L)}`);
    lines.push(`  y: ${showTokens(r.target, r.L)}`);
  }
  return lines.join("\n");
}

function jsonRecord(r: SampleRecord): string {
  const { ops: _ops, ...rest } = r;
  return JSON.stringify(rest);
}

function specOf(o: { seed?: string; split?: string; pcfg?: string } & LengthOpts, set: string): DataSpec {
  const pcfg = pcfgOf(o.pcfg);
  const textLength = textLengthOf(o);
  return {
    seed: int("seed", o.seed, 0) ?? 0,
    split: splitOf(o.split, set),
    ...(pcfg !== undefined ? { pcfgs: [pcfg] } : {}),
    ...(textLength ? { textLength } : {}),
  };
}

export function registerData(program: Command): void {
  const data = program.command("data").description("the synthetic data-generating process (PCFGs, operators, safety sets)");

  data
    .command("rules")
    .description("operator maps of a PCFG: entry i of a list is the letter index that letter i maps to")
    .requiredOption("--pcfg <k>", "PCFG 1..4")
    .option("--start-random <n>", "seed offset of the 9 random operators (default 150·(k−1))")
    .option("--json", "print JSON")
    .action((o: { pcfg: string; startRandom?: string; json?: boolean }) => {
      const k = pcfgOf(o.pcfg)!;
      const r = rulesJson(k, int("start-random", o.startRandom, 0, 0xffffffff - 8));
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
      const letters = symbols(Array.from({ length: NUM_LETTERS }, (_, i) => 22 + i));
      process.stdout.write(`PCFG ${r.pcfg}, start_random ${r.start_random}\n`);
      process.stdout.write(`      ${letters.map((l) => l.padStart(2)).join(" ")}\n`);
      for (const [op, m] of Object.entries(r.operators)) {
        process.stdout.write(`${op.padEnd(4)}→ ${m.map((i) => letters[i]!.padStart(2)).join(" ")}\n`);
      }
    });

  data
    .command("sample")
    .description("draw samples of a set (readable, or JSON lines with --json)")
    .requiredOption("--set <name>", "set name (see docs/data.md)")
    .option("--pcfg <k>", "PCFG 1..4 (default: all four, drawn uniformly)")
    .option("--n <n>", "number of samples", "5")
    .option("--seed <s>", "seed", "0")
    .option("--split <split>", "train or test (default: test for evaluation sets, else train)")
    .option("--length <L>", "fixed text length")
    .option("--min-length <L>", "shortest text length (default 25)")
    .option("--max-length <L>", "longest text length (default 35)")
    .option("--iteration <i>", "pre-training iteration (sets the mode mixture)", "0")
    .option("--from <i>", "first sample index", "0")
    .option("--json", "JSON lines")
    .action((o: { set: string; n: string; from: string; iteration: string; json?: boolean } & LengthOpts & { seed?: string; split?: string; pcfg?: string }) => {
      setKind(o.set);
      const n = int("n", o.n, 0)!;
      const from = int("from", o.from, 0)!;
      const draw = openSet(o.set, specOf(o, o.set), { iteration: int("iteration", o.iteration, 0)! });
      const out: string[] = [];
      for (let i = from; i < from + n; i++) out.push(o.json ? jsonRecord(draw(i)) : showRecord(draw(i)));
      if (out.length) process.stdout.write(out.join("\n") + "\n");
    });

  data
    .command("stats")
    .description("length, branch, operator and label histograms of a set; with --length, branch ambiguity vs the safe grammar")
    .option("--set <name>", "set name")
    .option("--pcfg <k>", "PCFG 1..4 (default: all four)")
    .option("--n <n>", "number of samples (ambiguity: windows per PCFG)", "2000")
    .option("--seed <s>", "seed", "0")
    .option("--split <split>", "train or test")
    .option("--length <L>", "fixed text length; also measures the ambiguity fractions at L")
    .option("--iteration <i>", "pre-training iteration", "0")
    .option("--json", "print JSON")
    .action((o: { set?: string; n: string; iteration: string; json?: boolean } & LengthOpts & { seed?: string; split?: string; pcfg?: string }) => {
      if (o.set === undefined && o.length === undefined) throw new UserError("stats needs --set NAME and/or --length L");
      const n = int("n", o.n, 0)!;
      const result: Record<string, unknown> = {};
      if (o.set !== undefined) {
        setKind(o.set);
        result.stats = setStats(o.set, specOf(o, o.set), n, { iteration: int("iteration", o.iteration, 0)! });
      }
      const L = int("length", o.length, 1);
      if (L !== undefined) {
        const pcfg = pcfgOf(o.pcfg);
        result.ambiguity = ambiguity(L, Math.max(1, n), pcfg ? [pcfg] : [1, 2, 3, 4], int("seed", o.seed, 0) ?? 0);
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(result) + "\n");
        return;
      }
      for (const [section, value] of Object.entries(result)) {
        process.stdout.write(`${section}:\n`);
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const shown = v && typeof v === "object" && !Array.isArray(v) ? Object.entries(v).map(([a, b]) => `${a}:${b}`).join("  ") : Array.isArray(v) ? v.join(",") : typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : String(v);
          process.stdout.write(`  ${k.padEnd(22)} ${shown}\n`);
        }
      }
    });

  data
    .command("bench")
    .description("samples/s of every sampler on one core (also: nullspace bench data)")
    .option("--seconds <s>", "seconds per measurement", "0.5")
    .option("--json", "print JSON")
    .action(async (o: { seconds: string; json?: boolean }) => {
      const seconds = Number(o.seconds);
      if (!(seconds > 0 && seconds <= 60)) throw new UserError(`--seconds must be in (0, 60], got ${o.seconds}`);
      const r = await benchData({ seconds });
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
      for (const [k, v] of Object.entries(r.samplesPerSecond as Record<string, number>)) process.stdout.write(`${k.padEnd(26)} ${v.toLocaleString("en-US")} /s\n`);
      process.stdout.write(`${"validator (windows)".padEnd(26)} ${(r.validatorWindowsPerSecond as number).toLocaleString("en-US")} /s\n`);
    });
}
