/** `nullspace bench …`: performance measurements, one sub-command per benchmark. */
import type { Command } from "commander";
import { benchMatmul } from "../bench/matmul.js";
import { benchTrain, benchTrainDefaults } from "../bench/train.js";
import { benchData } from "../data/bench.js";
import { benchAnalyze } from "../bench/analyze.js";
import { benchAttack } from "../bench/attack.js";
import { registerBenchLlm } from "./bench-llm.js";
import { repoRoot } from "../util/paths.js";
import { UserError } from "../util/errors.js";
import { intOption } from "../util/options.js";

function parseSizes(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new UserError("--sizes: expected a comma-separated list such as 256,512,1024");
  return parts.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 8192) throw new UserError(`--sizes: "${s}" is not an integer in 1..8192`);
    return Number(s);
  });
}

/** A bench result: one JSON line with --json (for machines), indented otherwise. */
function printResult(r: unknown, json?: boolean): void {
  process.stdout.write(JSON.stringify(r, null, json ? undefined : 2) + "\n");
}

export function registerBench(program: Command): Command {
  const bench = program.command("bench").description("performance benchmarks");

  bench
    .command("matmul")
    .description("sgemm GFLOP/s (median) on square sizes and the training shapes, with OpenBLAS as the peer")
    .option("--sizes <list>", "square sizes n (n×n×n), comma-separated", "256,512,1024")
    .option("--repeats <n>", "timed runs per size (median reported)", "7")
    .option("--backend <name>", "native or js", "native")
    .option("--no-shapes", "skip the training shapes")
    .option("--no-peer", "skip the OpenBLAS peer")
    .option("--json", "print JSON")
    .action(async (o: { sizes: string; repeats: string; backend: string; shapes: boolean; peer: boolean; json?: boolean }) => {
      const sizes = parseSizes(o.sizes);
      if (!/^\d+$/.test(o.repeats) || Number(o.repeats) < 1 || Number(o.repeats) > 1000) throw new UserError(`--repeats must be an integer in 1..1000, got ${o.repeats}`);
      if (o.backend !== "native" && o.backend !== "js") throw new UserError(`--backend must be native or js, got ${o.backend}`);
      const r = await benchMatmul({ sizes, repeats: Number(o.repeats), backend: o.backend, shapes: o.shapes, peer: o.peer });
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + "\n");
        return;
      }
      type Row = { n?: number; name?: string; gflops_median: number; ms_median: number };
      const peer = r.peer as { name: string; sizes: Row[]; shapes: Row[] } | null;
      process.stdout.write(`backend ${r.backend}, ${r.threads} thread(s), simd ${r.simd}; peer: ${peer ? peer.name : `none (${r.peer_reason})`}\n`);
      const rows = [...(r.sizes as Row[]), ...(r.shapes as Row[])];
      const peerRows = peer ? [...peer.sizes, ...peer.shapes] : [];
      for (let i = 0; i < rows.length; i++) {
        const label = rows[i].name ?? `${rows[i].n}³`;
        const p = peerRows[i] ? `   peer ${peerRows[i].gflops_median.toFixed(1).padStart(7)} GFLOP/s` : "";
        process.stdout.write(`${label.padEnd(32)} ${rows[i].gflops_median.toFixed(1).padStart(7)} GFLOP/s ${rows[i].ms_median.toFixed(3).padStart(9)} ms${p}\n`);
      }
      const m = r.machine as { loadavg_1m_before: number };
      process.stdout.write(`load average (1 min) before: ${m.loadavg_1m_before}\n`);
    });

  const d = benchTrainDefaults;
  bench
    .command("train")
    .description("one full training step (forward + backward + clip + AdamW), median tokens/s, with the identical PyTorch step as the peer")
    .option("--n-layer <n>", "layers", String(d.n_layer))
    .option("--n-head <n>", "heads", String(d.n_head))
    .option("--n-embd <n>", "width", String(d.n_embd))
    .option("--block <n>", "sequence length", String(d.block))
    .option("--vocab <n>", "vocabulary size", String(d.vocab))
    .option("--batch <n>", "batch size", String(d.batch))
    .option("--steps <n>", "timed steps (median reported)", String(d.steps))
    .option("--warmup <n>", "untimed warm-up steps", String(d.warmup))
    .option("--block-type <t>", "reference | preln", d.blockType)
    .option("--no-peer", "skip the PyTorch peer (bench/torch_train.py)")
    .option("--json", "print JSON")
    .action(async (o: Record<string, string> & { peer: boolean; json?: boolean }) => {
      if (o.blockType !== "reference" && o.blockType !== "preln") throw new UserError(`--block-type must be reference or preln, got ${o.blockType}`);
      const r = await benchTrain({
        n_layer: intOption("--n-layer", o.nLayer, 1), n_head: intOption("--n-head", o.nHead, 1), n_embd: intOption("--n-embd", o.nEmbd, 1), block: intOption("--block", o.block, 1),
        vocab: intOption("--vocab", o.vocab, 1), batch: intOption("--batch", o.batch, 1), steps: intOption("--steps", o.steps, 1), warmup: intOption("--warmup", o.warmup, 0),
        blockType: o.blockType, peer: o.peer, repoRoot: repoRoot(),
      });
      printResult(r, o.json);
    });

  bench
    .command("data")
    .description("samples/s of every sampler (one core)")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const r = await benchData({});
      printResult(r, o.json);
    });

  bench
    .command("analyze")
    .description("seconds per mechanistic analysis on a random cpu-sized model (4 layers, width 128)")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const r = await benchAnalyze();
      printResult(r, o.json);
    });

  bench
    .command("attack")
    .description("attacked samples/s of the soft-token and GCG attacks")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const r = await benchAttack();
      printResult(r, o.json);
    });

  registerBenchLlm(bench);

  return bench;
}
