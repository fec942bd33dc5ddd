import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pretrainPreset } from "../../src/stages/presets.js";
import { runPretrain } from "../../src/stages/pretrain.js";
import { applyOverrides } from "../../src/config/overrides.js";
import { evaluatePretrain } from "../../src/eval/pretrain-eval.js";
import { GPT } from "../../src/model/gpt.js";
import { repoRoot, runCli } from "../helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "nullspace-pretrain-"));

test("tiny preset trains in seconds: loss falls and accuracy rises", () => {
  const out = tmp();
  const cfg = pretrainPreset("tiny");
  const r = runPretrain(cfg, { out, resume: false, quiet: true });
  const rows = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const losses = rows.filter((x) => typeof x.loss === "number").map((x) => x.loss);
  assert.ok(losses[losses.length - 1] < losses[0] - 1, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  // Held-out accuracy of the untrained model (same init) vs the trained one.
  const before = evaluatePretrain(new GPT(cfg.model, undefined, cfg.seed), cfg);
  const after = r.lastEval!;
  // Text language modelling is learned first; output accuracy starts to rise from chance (1/59).
  for (const [key, gain] of [["tf/pcfg/pcfg1/acc", 0.3], ["tf/full/pcfg1/acc", 0.1]] as const) {
    assert.ok(after[key] > before[key] + gain, `${key}: ${before[key]} → ${after[key]}`);
  }
  for (const f of ["config.json", "metrics.jsonl", "model.safetensors", "optimizer.safetensors", "state.json", "summary.json"]) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, "state.json"), "utf8")).step, cfg.train.max_iters);
  assert.equal(r.steps, cfg.train.max_iters);
});

const short = (iters: number) => applyOverrides(pretrainPreset("tiny"), [`train.max_iters=${iters}`, `train.lr_decay_iters=${iters}`, "train.ckpt_interval=10", "train.eval_interval=0", "eval.n=8", "eval.greedy_n=4"]);

test("a run interrupted after a checkpoint resumes to bit-identical weights", () => {
  const full = tmp(), cut = tmp();
  runPretrain(short(40), { out: full, resume: false, quiet: true });
  // Simulate a crash right after the checkpoint at step 20 (mid-run, files on disk as a kill would leave them).
  assert.throws(() => runPretrain(short(40), { out: cut, resume: false, quiet: true, onCheckpoint: (s) => { if (s === 20) throw new Error("killed"); } }), /killed/);
  assert.equal(JSON.parse(readFileSync(join(cut, "state.json"), "utf8")).step, 20);
  const r = runPretrain(short(40), { out: cut, resume: true, quiet: true });
  assert.equal(r.resumedFrom, 20);
  assert.deepEqual(readFileSync(join(cut, "model.safetensors")), readFileSync(join(full, "model.safetensors")));
  assert.deepEqual(readFileSync(join(cut, "optimizer.safetensors")), readFileSync(join(full, "optimizer.safetensors")));
  // metrics.jsonl has no duplicated steps after the resume.
  const steps = readFileSync(join(cut, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((x) => x.loss !== undefined).map((x) => x.step);
  assert.equal(new Set(steps).size, steps.length);
});

test("CLI: SIGKILL mid-run, then --resume, matches an uninterrupted run byte for byte", async () => {
  const full = tmp(), cut = tmp();
  const args = ["pretrain", "--preset", "tiny", "--quiet", "--set", "train.max_iters=400", "--set", "train.lr_decay_iters=400", "--set", "train.ckpt_interval=25", "--set", "train.eval_interval=0", "--set", "eval.n=8", "--set", "eval.greedy_n=4"];
  assert.equal(runCli([...args, "--out", full]).code, 0);
  const child = spawn(process.execPath, [join(repoRoot, "bin", "nullspace.js"), ...args, "--out", cut], { stdio: "ignore" });
  const killedAt = await new Promise<number>((resolve) => {
    const poll = setInterval(() => {
      try {
        const st = JSON.parse(readFileSync(join(cut, "state.json"), "utf8"));
        if (st.step >= 50) { child.kill("SIGKILL"); clearInterval(poll); resolve(st.step); }
      } catch { /* not written yet */ }
    }, 2);
  });
  await new Promise((r) => child.on("exit", r));
  assert.ok(killedAt < 400, "the run finished before it could be killed");
  const again = runCli([...args, "--out", cut]);
  assert.notEqual(again.code, 0, "re-running without --resume must refuse to overwrite");
  assert.match(again.stderr, /already holds a checkpoint/);
  const r = runCli([...args, "--out", cut, "--resume"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readFileSync(join(cut, "model.safetensors")), readFileSync(join(full, "model.safetensors")));
});

test("bad presets, keys, configs and checkpoints give one-line errors and never clobber a good checkpoint", () => {
  const oneLine = (r: { code: number; stderr: string }, re: RegExp) => {
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  };
  const out = tmp();
  oneLine(runCli(["pretrain", "--preset", "huge", "--out", out]), /unknown preset "huge"; valid presets: tiny, cpu, paper/);
  oneLine(runCli(["pretrain", "--preset", "tiny", "--out", out, "--set", "model.n_layers=3"]), /unknown key; valid keys: .*model\.n_layer/);
  oneLine(runCli(["pretrain", "--preset", "tiny", "--out", out, "--set", "train.lr=fast"]), /expected a number/);
  oneLine(runCli(["pretrain", "--preset", "tiny", "--out", out, "--set", "data.text_length=[30,30]"]), /block_size/);
  // A good checkpoint, then: mismatched resume, corrupt checkpoint.
  const good = tmp();
  assert.equal(runCli(["pretrain", "--preset", "tiny", "--quiet", "--out", good, "--set", "train.max_iters=20", "--set", "train.lr_decay_iters=20", "--set", "eval.n=4", "--set", "eval.greedy_n=2"]).code, 0);
  const before = readFileSync(join(good, "model.safetensors"));
  oneLine(runCli(["pretrain", "--preset", "tiny", "--quiet", "--out", good, "--resume", "--set", "train.max_iters=30"]), /differs from the requested config at "train.max_iters"/);
  assert.deepEqual(readFileSync(join(good, "model.safetensors")), before);
  const opt = join(good, "optimizer.safetensors");
  const bytes = readFileSync(opt);
  writeFileSync(opt, bytes.subarray(0, bytes.length - 100));
  oneLine(runCli(["pretrain", "--preset", "tiny", "--quiet", "--out", good, "--resume", "--set", "train.max_iters=20", "--set", "train.lr_decay_iters=20", "--set", "eval.n=4", "--set", "eval.greedy_n=2"]), /optimizer.safetensors/);
  assert.deepEqual(readFileSync(join(good, "model.safetensors")), before);
  // Unwritable output directory (a path below a regular file).
  const file = join(tmp(), "file");
  writeFileSync(file, "x");
  oneLine(runCli(["pretrain", "--preset", "tiny", "--out", join(file, "run")]), /cannot create or write the run directory/);
});
