import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSeeds } from "../../src/cli/reproduce.js";
import { canonical, stageHash } from "../../src/reproduce/stages.js";
import { IT_INSTRUCT_MIN } from "../../src/reproduce/run.js";
import { repoRoot, runCli } from "../helpers.js";

test("seed specs and stage hashes", () => {
  assert.deepEqual(parseSeeds("3"), [0, 1, 2]);
  assert.deepEqual(parseSeeds("2..4"), [2, 3, 4]);
  assert.deepEqual(parseSeeds("0,5,7"), [0, 5, 7]);
  assert.throws(() => parseSeeds("x"), /--seeds/);
  assert.equal(canonical({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
  assert.equal(stageHash({ a: 1, b: 2 }), stageHash({ b: 2, a: 1 }));
  assert.notEqual(stageHash({ a: 1 }, ["x"]), stageHash({ a: 1 }, ["y"]));
});

const stageRecord = (out: string, stage: string) => JSON.parse(readFileSync(join(out, "seed-0", stage, "stage.json"), "utf8"));

test("reproduce --preset tiny end to end: report sections, numeric results, and a killed run resumes without redoing stages", async () => {
  const out = mkdtempSync(join(tmpdir(), "nullspace-repro-"));
  const args = [join(repoRoot, "bin", "nullspace.js"), "reproduce", "--preset", "tiny", "--out", out, "--quiet"];
  // Start, and kill once the pre-training stage is done and a safety stage is under way.
  const child = spawn(process.execPath, args, { stdio: "ignore" });
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      try {
        if (stageRecord(out, "pretrain").status === "done" && existsSync(join(out, "seed-0", "ssft_M", "stage.json"))) {
          child.kill("SIGKILL");
          clearInterval(poll);
          resolve();
        }
      } catch { /* not there yet */ }
    }, 20);
  });
  await new Promise((r) => child.on("exit", r));
  const before = stageRecord(out, "pretrain");
  const r = runCli(["reproduce", "--preset", "tiny", "--out", out, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /pretrain \(cached\)/);
  assert.deepEqual(stageRecord(out, "pretrain"), before, "the finished pre-training stage was redone");
  for (const s of ["ssft_M", "dpo_M", "unlearn_M", "ssft_S", "dpo_S", "unlearn_S"]) assert.equal(stageRecord(out, s).status, "done", s);

  const html = readFileSync(join(out, "report.html"), "utf8");
  for (const section of ["1. Setup", "2. Safety and jailbreak evaluation", "3. Claims", "4. Figures", "Training curves", "Fig. 3", "Fig. 4", "Fig. 5", "Fig. 6", "Fig. 7", "Linear intervention"]) assert.ok(html.includes(section), section);
  assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/xmlns(:\w+)?="[^"]*"/g, "")), "the report must not load anything from the network");
  assert.ok((html.match(/<svg/g) ?? []).length >= 20);

  const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  for (const k of ["preset", "seeds", "machine", "wall_seconds", "timings", "evaluation", "claims"]) assert.ok(k in res, k);
  assert.equal(typeof res.wall_seconds, "number");
  // The safety recipe actually used (tiny: the reference objectives, whole-batch draw).
  assert.equal(res.safety.DPO, "reference (β_w 0.1, β_l 0.01, per-position mean)");
  assert.match(res.safety["safe/unsafe draw"], /^per batch/);
  assert.ok(html.includes("unlearning") && html.includes("reference gradient difference"));
  const ev = res.evaluation["0"];
  // A not-converged instruction-tuned model is flagged (tiny's 300 pre-training steps may or may not get there).
  assert.equal(/warning: seed 0: the instruction-tuned model answers/.test(r.stderr), ev.pretrain.headline.instruct.rate < IT_INSTRUCT_MIN, r.stderr);
  for (const run of ["pretrain", "ssft_M", "dpo_M", "unlearn_M", "ssft_S", "dpo_S", "unlearn_S"]) {
    for (const k of ["instruct", "null", "null_safe_branch", "null_unsafe_branch"]) assert.equal(typeof ev[run].headline[k].rate, "number", `${run}.${k}`);
    for (const s of ["std_unsafe", "jb_co_task", "jb_co_text", "jb_misgen_tokens", "jb_misgen_text", "jb_co_comp"]) assert.equal(typeof ev[run].headline.asr[s].rate, "number", `${run}.${s}`);
  }
  assert.ok(res.claims.length >= 18);
  for (const c of res.claims) {
    assert.ok(typeof c.mean === "number" || c.note === "not measurable (input missing)", `claim ${c.id}: ${JSON.stringify(c)}`);
    assert.ok(c.pass === true || c.pass === false || c.pass === null);
  }
  // A second run is entirely cached.
  const again = runCli(["reproduce", "--preset", "tiny", "--out", out, "--quiet"]);
  assert.equal(again.code, 0);
  assert.equal((again.stderr.match(/\(cached\)/g) ?? []).length, 19);
});
