/**
 * `nullspace bench llm`: wall time per stage and peak extra memory of the streamed ΔW-vs-null-space analysis
 * (src/llm/deltaw.ts) on Llama-2 7B-sized MLP matrices generated on the fly (src/llm/deltaw-synthetic.ts):
 * a gate/up-like tall [11008, 4096] pair and a down-like wide [4096, 11008] pair.
 *
 * Each run happens in a fresh Node process (so freed-but-kept heap from an earlier run cannot hide memory), and
 * memory is read from its /proc/self/status: the peak (VmHWM) is reset through /proc/self/clear_refs just before
 * the run and the RSS at that moment (VmRSS) is subtracted. So the figure is everything the analysis allocates,
 * the two loaded matrices included. Where the peak cannot be reset (not Linux, or no permission) the report says
 * so and the number is an upper bound.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import type { Command } from "commander";
import { backend } from "../engine/backend/index.js";
import { analyzeDeltaW, type DeltaWResult } from "../llm/deltaw.js";
import { syntheticPair } from "../llm/deltaw-synthetic.js";
import { median } from "../bench/stats.js";
import { UserError } from "../util/errors.js";
import { intOption } from "../util/options.js";

export interface BenchLlmOptions {
  /** The tall (gate/up-like) shape [rows, cols]; the wide one is its transpose. Default 11008 × 4096. */
  rows?: number;
  cols?: number;
  shapes?: ("gate" | "down")[];
  repeats?: number;
  samples?: number;
  maxVectors?: number;
  seed?: number;
}

/** The 2 GiB budget of extra memory for one matrix pair. */
export const LLM_MEMORY_BUDGET_MIB = 2048;

function procStatusMiB(key: "VmRSS" | "VmHWM"): number | null {
  try {
    const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5"); // "5" resets VmHWM to the current RSS (Linux ≥ 4.0)
    return true;
  } catch {
    return false;
  }
}

const round = (x: number, d = 3) => Number(x.toFixed(d));

function medianOf<T extends Record<string, number>>(xs: T[]): Record<keyof T, number> {
  const out = {} as Record<keyof T, number>;
  for (const k of Object.keys(xs[0]) as (keyof T)[]) out[k] = round(median(xs.map((x) => x[k])));
  return out;
}

/** One measured run in this process (what each child process executes). */
export function benchLlmRun(shape: [number, number], o: { samples: number; maxVectors: number; seed: number; name: string }): { r: DeltaWResult; before: number | null; extra: number | null; peakReset: boolean } {
  const peakReset = resetPeak();
  const before = procStatusMiB("VmRSS");
  const pair = syntheticPair(shape[0], shape[1], { seed: o.seed });
  const r = analyzeDeltaW(pair.base, pair.chat, { samples: o.samples, maxVectors: o.maxVectors, seed: o.seed, matrix: o.name });
  const peak = procStatusMiB("VmHWM");
  return { r, before, extra: before !== null && peak !== null ? peak - before : null, peakReset };
}

/** Runs benchLlmRun in a fresh Node process and parses its JSON line. */
function runInChild(shape: [number, number], o: { samples: number; maxVectors: number; seed: number; name: string }): ReturnType<typeof benchLlmRun> {
  const self = new URL(import.meta.url).href;
  const code = `import { benchLlmRun } from ${JSON.stringify(self)};\nprocess.stdout.write(JSON.stringify(benchLlmRun(${JSON.stringify(shape)}, ${JSON.stringify(o)})) + "\\n");`;
  const p = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "inherit"] });
  if (p.status !== 0) throw new Error(`bench llm: the measuring process failed (exit ${p.status ?? p.signal})`);
  return JSON.parse(p.stdout.trim().split("\n").pop()!) as ReturnType<typeof benchLlmRun>;
}

export async function benchLlm(o: BenchLlmOptions = {}): Promise<Record<string, unknown>> {
  const rows = o.rows ?? 11008, cols = o.cols ?? 4096, repeats = o.repeats ?? 1, seed = o.seed ?? 0;
  const load1 = loadavg()[0];
  let peakReset = true;
  const shapes = (o.shapes ?? ["gate", "down"]).map((name) => ({ name, shape: (name === "gate" ? [rows, cols] : [cols, rows]) as [number, number] }));
  const out: Record<string, unknown>[] = [];
  for (const { name, shape } of shapes) {
    const runs: ReturnType<typeof benchLlmRun>[] = [];
    for (let i = 0; i < repeats; i++) {
      const run = runInChild(shape, { samples: o.samples ?? 200, maxVectors: o.maxVectors ?? 64, seed, name: name === "gate" ? "gate_like" : "down_like" });
      peakReset &&= run.peakReset;
      runs.push(run);
    }
    const r = runs[0].r;
    const extras = runs.map((x) => x.extra).filter((x): x is number => x !== null);
    const extra = extras.length ? Math.max(...extras) : null;
    out.push({
      name,
      shape,
      side: r.side,
      repeats,
      seconds: medianOf(runs.map((x) => x.r.seconds)),
      projector_parts: medianOf(runs.map((x) => x.r.projectorParts)),
      rss_before_mib: runs[0].before === null ? null : round(runs[0].before, 1),
      peak_extra_rss_mib: extra === null ? null : round(extra, 1),
      within_budget: extra === null ? null : extra <= LLM_MEMORY_BUDGET_MIB,
      result: {
        rank_base: r.rankBase,
        null_dim: r.nullDim,
        k: r.k,
        k_energy: r.kEnergy,
        capped: r.capped,
        energy_captured: r.energyCaptured,
        norm_ratio: r.normRatio,
        mean: r.mean,
        min: r.min,
        frac_above_09: r.fracAbove09,
        baseline_analytic: r.baselineAnalytic,
        baseline_sampled: r.baselineSampled,
        method: r.method,
      },
    });
  }
  return {
    bench: "llm-deltaw",
    budget_mib: LLM_MEMORY_BUDGET_MIB,
    shapes: out,
    backend: backend().name,
    threads: backend().threads,
    machine: { cpus: availableParallelism(), loadavg_1m_before: round(load1, 2), peak_reset: peakReset, process_per_run: true },
  };
}

/** Registers `bench llm` on the `bench` command. */
export function registerBenchLlm(bench: Command): void {
  bench
    .command("llm")
    .description("streamed ΔW-vs-null-space analysis of Llama-2 7B-sized MLP pairs (seconds per stage, peak extra RSS)")
    .option("--rows <n>", "rows of the tall (gate/up-like) matrix; the down-like one is its transpose", "11008")
    .option("--cols <n>", "columns of the tall matrix", "4096")
    .option("--shapes <list>", "gate (tall), down (wide), or both", "gate,down")
    .option("--repeats <n>", "runs per shape (median seconds, max memory)", "1")
    .option("--samples <n>", "random directions for the sampled baseline", "200")
    .option("--max-vectors <n>", "cap on the tested singular vectors", "64")
    .option("--seed <n>", "seed of the generated matrices", "0")
    .option("--json", "print JSON")
    .action(async (o: { rows: string; cols: string; shapes: string; repeats: string; samples: string; maxVectors: string; seed: string; json?: boolean }) => {
      const rows = intOption("--rows", o.rows, 2, 65536), cols = intOption("--cols", o.cols, 1, 65536);
      if (rows < cols) throw new UserError(`--rows must be ≥ --cols (the tall shape; the wide one is its transpose), got ${rows} < ${cols}`);
      if (rows * cols > 2 ** 27) throw new UserError(`--rows × --cols must be at most ${2 ** 27} (512 MiB per matrix), got ${rows * cols}`);
      const shapes = o.shapes.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
      const bad = shapes.find((s) => s !== "gate" && s !== "down");
      if (bad !== undefined || shapes.length === 0) throw new UserError(`--shapes: expected a list of gate and down, got "${o.shapes}"`);
      const r = await benchLlm({
        rows, cols, shapes: shapes as ("gate" | "down")[], repeats: intOption("--repeats", o.repeats, 1, 100),
        samples: intOption("--samples", o.samples, 0, 100000), maxVectors: intOption("--max-vectors", o.maxVectors, 1, 4096), seed: intOption("--seed", o.seed, 0, 2 ** 31),
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
      for (const s of r.shapes as { name: string; shape: number[]; seconds: Record<string, number>; peak_extra_rss_mib: number | null; within_budget: boolean | null; result: { rank_base: number; k: number; mean: number; baseline_analytic: number } }[]) {
        const sec = Object.entries(s.seconds).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
        const mem = s.peak_extra_rss_mib === null ? "peak RSS unavailable" : `peak extra RSS ${s.peak_extra_rss_mib.toFixed(0)} MiB${s.within_budget ? "" : " (OVER the 2 GiB budget)"}`;
        process.stdout.write(`${s.name} ${s.shape.join("×")}: ${sec} s; ${mem}; rank ${s.result.rank_base}, k ${s.result.k}, mean ${s.result.mean} vs baseline ${s.result.baseline_analytic}\n`);
      }
      const m = r.machine as { loadavg_1m_before: number; peak_reset: boolean };
      process.stdout.write(`backend ${r.backend}, ${r.threads} thread(s); load average (1 min) before: ${m.loadavg_1m_before}${m.peak_reset ? "" : "; peak RSS could not be reset (upper bound)"}\n`);
    });
}
