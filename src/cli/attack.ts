/** `nullspace attack` (one attack on one model and set) and `nullspace attack sweep` (success vs strength). */
import type { Command } from "commander";
import type { AttackSpec } from "../attack/attack.js";
import { attackRun, loadRun } from "../attack/run.js";
import { parseEps, runSweep, type EpsValue } from "../attack/sweep.js";
import { defaultEps } from "../attack/embed.js";
import { gcgDefaults, softDefaults, type AttackResult } from "../attack/types.js";
import { checkEvalSet } from "../data/evalsets.js";
import { symbols, tokenId } from "../data/vocab.js";
import { UserError } from "../util/errors.js";
import { intOption } from "../util/options.js";

interface CommonFlags {
  method: string; positions: string; norm: string; optimizer?: string; lr?: string; init: string; universal?: boolean; seed: string;
  earlyStop: boolean; topk: string; searchWidth: string; initToken: string; allowSpecials?: boolean; n: string; length?: string; chunk: string; json?: boolean;
}

const intList = (name: string, v: string, lo: number, hi: number): number[] => {
  const parts = v.split(",").map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new UserError(`--${name}: expected a comma-separated list of integers`);
  return parts.map((p) => intOption(`--${name}`, p, lo, hi));
};
const numArg = (name: string, v: string): number => {
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || x < 0) throw new UserError(`--${name} must be a number ≥ 0, got "${v}"`);
  return x;
};
const symbolArg = (name: string, v: string): number => {
  try {
    return tokenId(v);
  } catch {
    if (/^\d+$/.test(v) && Number(v) < 59) return Number(v);
    throw new UserError(`--${name}: "${v}" is neither a token symbol (e.g. "(" or 2a) nor an id`);
  }
};

/** The attack spec from the shared flags (tokens and steps given separately). */
function specFrom(f: CommonFlags, tokens: number, steps: number): AttackSpec {
  if (f.positions !== "keep" && f.positions !== "shift") throw new UserError(`--positions must be keep or shift, got "${f.positions}"`);
  const common = { tokens, steps, positions: f.positions as "keep" | "shift", universal: !!f.universal, seed: intOption("--seed", f.seed, 0, 2 ** 31), earlyStop: f.earlyStop, chunk: intOption("--chunk", f.chunk, 1, 4096) };
  if (f.method === "gcg") {
    return { method: "gcg", ...gcgDefaults, ...common, topk: intOption("--topk", f.topk, 1, 59), searchWidth: intOption("--search-width", f.searchWidth, 1, 4096), initToken: symbolArg("init-token", f.initToken), allowSpecials: !!f.allowSpecials };
  }
  if (f.method !== "soft") throw new UserError(`--method must be soft or gcg, got "${f.method}"`);
  if (f.norm !== "l2" && f.norm !== "linf") throw new UserError(`--norm must be l2 or linf, got "${f.norm}"`);
  if (f.optimizer !== undefined && f.optimizer !== "normalized" && f.optimizer !== "signed") throw new UserError(`--optimizer must be normalized or signed, got "${f.optimizer}"`);
  return {
    method: "soft", ...softDefaults, ...common, norm: f.norm,
    ...(f.optimizer ? { optimizer: f.optimizer as "normalized" | "signed" } : {}),
    ...(f.lr !== undefined ? { lr: numArg("lr", f.lr) } : {}),
    init: f.init === "zero" ? "zero" : symbolArg("init", f.init),
  };
}

function withCommonOptions(c: Command): Command {
  return c
    .option("--method <m>", "soft (embedding-space) | gcg (discrete tokens)", "soft")
    .option("--positions <mode>", "keep: real tokens keep their clean positions, slots sit between text and > | shift: later tokens move n places (the reference)", "keep")
    .option("--norm <p>", "soft: budget ball, l2 | linf", "l2")
    .option("--optimizer <o>", "soft: normalized (paper) | signed (Schwinn); default by norm")
    .option("--lr <x>", "soft: step size (default 2ε/steps)")
    .option("--init <tok>", "soft: base vector under δ, zero or a token symbol", "zero")
    .option("--universal", "one perturbation shared by the whole set")
    .option("--no-early-stop", "optimise every item for all steps (the reference)")
    .option("--topk <k>", "gcg: candidate tokens per slot", String(gcgDefaults.topk))
    .option("--search-width <w>", "gcg: substitutions evaluated per step", String(gcgDefaults.searchWidth))
    .option("--init-token <tok>", "gcg: initial slot token", "(")
    .option("--allow-specials", "gcg: allow > $ % * # *^ in the slots")
    .option("--n <n>", "items (the first n of the set's test split)", "100")
    .option("--length <L>", "draw items with this text length instead of the run's")
    .option("--chunk <b>", "items per batch", String(softDefaults.chunk))
    .option("--seed <s>", "seed of δ's initialisation / GCG's sampling", "0")
    .option("--json", "print JSON");
}

function summary(r: AttackResult, dir?: string, saved?: number): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `${r.method} attack on ${r.model ?? "model"} / ${r.set ?? "items"}: n = ${r.tokens} slots, ${r.steps} steps${r.universal ? ", universal" : ""}` +
      (r.soft ? `, ${r.soft.norm} ε = ${r.soft.eps.toPrecision(4)} (${(r.soft.eps / r.soft.eps_default).toPrecision(3)}× default), ${r.soft.optimizer}, lr ${r.soft.lr.toPrecision(3)}` : "") +
      (r.gcg ? `, top-k ${r.gcg.topk}, width ${r.gcg.search_width}` : ""),
    `  success (greedy exact match): ${Math.round(r.success.rate * r.n_items)}/${r.n_items} = ${pct(r.success.rate)} [${pct(r.success.lo)}, ${pct(r.success.hi)}]`,
    `  refusal: ${pct(r.refusal.rate)}   teacher-forced token accuracy: ${pct(r.token_acc)}`,
    `  loss: ${r.loss_curve[0]!.toFixed(4)} → ${r.loss_curve[r.loss_curve.length - 1]!.toFixed(4)} over ${r.loss_curve.length - 1} step(s)`,
    `  ${r.samples_per_s.toFixed(1)} samples/s (attack ${r.attack_s.toFixed(2)} s, scoring ${r.score_s.toFixed(2)} s)`,
  ];
  if (r.extended_positions) lines.push(`  note: attacked sequences need ${r.max_len} positions > block_size ${r.block_size}; sinusoidal positions extrapolated`);
  if (r.gcg && r.universal) lines.push(`  universal slots: ${symbols(r.items[0]!.slotTokens!).join(" ")}`);
  if (dir) lines.push(`  artifacts: ${dir} (${saved} input(s) saved)`);
  return lines.join("\n") + "\n";
}

export function registerAttack(program: Command): void {
  const attack = withCommonOptions(
    program
      .command("attack")
      .description("adversarial attack on a model: soft tokens in an ε ball (paper §5) or GCG tokens, before EOT; success = greedy compliant output")
      .option("--model <dir>", "run directory of the model to attack")
      .option("--set <name>", "evaluation set", "std_unsafe")
      .option("--tokens <n>", "inserted slots", String(softDefaults.tokens))
      .option("--steps <k>", "optimisation steps", String(softDefaults.steps))
      .option("--eps <r>", "soft: radius per vector (number, or a multiple of the default such as 2x; default = mean token-embedding norm)")
      .option("--out <dir>", "artifact directory (default <model>/attacks/<set>-<method>-n<N>-s<steps>)")
      .option("--save-all", "save every item's attacked input, not just the successful ones")
      .option("--dry-run", "write no files"),
  ).action((f: CommonFlags & { model?: string; set: string; tokens: string; steps: string; eps?: string; out?: string; saveAll?: boolean; dryRun?: boolean }) => {
    if (!f.model) throw new UserError("attack: --model <dir> is required");
    const set = checkEvalSet(f.set);
    const spec = specFrom(f, intOption("--tokens", f.tokens, 1, 256), intOption("--steps", f.steps, 0, 100_000));
    const run = loadRun(f.model);
    if (spec.method === "soft" && f.eps !== undefined) {
      const e: EpsValue = parseEps(f.eps);
      spec.eps = "abs" in e ? e.abs : e.scale * defaultEps(run.model, spec.norm);
    }
    const out = attackRun(f.model, spec, {
      set, n: intOption("--n", f.n, 1, 1_000_000), out: f.out, saveAll: f.saveAll, dryRun: f.dryRun,
      ...(f.length === undefined ? {} : { length: intOption("--length", f.length, 1, 1000) }),
    }, run);
    const { dir, saved } = out;
    if (f.json) {
      process.stdout.write(JSON.stringify({ ...out.result, items: undefined, artifacts: dir ?? null, saved: saved ?? 0 }) + "\n");
      return;
    }
    process.stdout.write(summary(out.result, dir, saved));
  });

  withCommonOptions(
    attack
      .command("sweep")
      .description("success vs attack strength (slots × steps × ε) for one or more models; writes sweep.json and sweep.svg")
      .option("--model <dirs>", "run directories, comma-separated (e.g. runs/ssft_S,runs/dpo_S,runs/unlearn_S)")
      .option("--set <names>", "evaluation sets, comma-separated", "std_unsafe")
      .option("--tokens <list>", "slot counts", "1,2,5,10")
      .option("--steps <list>", "step counts", "1,5,10")
      .option("--eps <list>", "soft: radii (numbers or multiples such as 0.5x,1x,2x)", "1x")
      .option("--out <dir>", "output directory (default <first model>/attacks/sweep-<method>)")
      .option("--save-inputs", "also save every point's attack artifacts under <out>/points/"),
  ).action(async (own: CommonFlags & { model?: string; set: string; tokens: string; steps: string; eps: string; out?: string; saveInputs?: boolean }) => {
    // commander gives `attack`'s own options (--model, --tokens, …) to the parent even after `sweep`: take those the
    // user actually typed from the parent, and the sweep's defaults otherwise.
    const merged: Record<string, unknown> = { ...own };
    const parentOpts = attack.opts() as Record<string, unknown>;
    for (const k of Object.keys(parentOpts)) if (attack.getOptionValueSource(k) === "cli") merged[k] = parentOpts[k];
    const f = merged as unknown as typeof own;
    if (!f.model) throw new UserError("attack sweep: --model <dirs> is required");
    const models = f.model.split(",").map((s) => s.trim()).filter(Boolean);
    const sets = f.set.split(",").map((s) => s.trim()).filter(Boolean);
    const base = specFrom(f, 1, 0);
    const out = f.out ?? `${models[0]!.replace(/\/+$/, "")}/attacks/sweep-${base.method}`;
    const r = await runSweep({
      models, sets, tokens: intList("tokens", f.tokens, 1, 256), steps: intList("steps", f.steps, 0, 100_000),
      eps: f.eps.split(",").filter((s) => s.trim()).map(parseEps), n: intOption("--n", f.n, 1, 1_000_000),
      ...(f.length === undefined ? {} : { length: intOption("--length", f.length, 1, 1000) }),
      base, saveInputs: f.saveInputs, out,
      onPoint: f.json ? undefined : (p) => process.stderr.write(`${p.model} ${p.set} n=${p.tokens} steps=${p.steps}${p.eps_scale !== null ? ` ε=${p.eps_scale}×` : ""}: success ${(100 * p.success.rate).toFixed(1)}%, refusal ${(100 * p.refusal.rate).toFixed(1)}%\n`),
    });
    if (f.json) {
      process.stdout.write(JSON.stringify(r) + "\n");
      return;
    }
    process.stdout.write(`${r.files.json}\n${r.files.svg}\n`);
  });
}
