import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveModel } from "../../src/model/checkpoint.js";
import { GPT } from "../../src/model/gpt.js";
import { runCli } from "../helpers.js";
import { modelPair, tinyConfig } from "./helpers.js";

function makeRun(dir: string, model: GPT, stage: string): void {
  saveModel(dir, model);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ stage, seed: 0, model: model.config, data: { seed: 0, pcfgs: [1], text_length: [8, 8] } }));
}

test("nullspace analyze all: JSON + SVG + Vega-Lite spec per analysis; one-line user errors", () => {
  const root = mkdtempSync(join(tmpdir(), "ns-analyze-"));
  try {
    const { it, st } = modelPair(8);
    const itDir = join(root, "it"), stDir = join(root, "st");
    makeRun(itDir, it, "pretrain");
    makeRun(stDir, st, "safety");
    saveModel(join(stDir, "checkpoints", "step-5"), st, { writeConfig: false });
    const r = runCli(["analyze", "all", "--it", itDir, "--st", stDir, "--n", "8", "--jb-n", "8", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, { json: string; plots: string[] }>;
    assert.deepEqual(Object.keys(out), ["clustering", "columnspace", "rowspace", "spectrum", "lipschitz", "jailbreaks"]);
    for (const { json, plots } of Object.values(out)) {
      assert.ok(existsSync(json) && json.startsWith(join(stDir, "analysis")));
      JSON.parse(readFileSync(json, "utf8"));
      for (const p of plots) {
        assert.ok(readFileSync(p, "utf8").startsWith("<svg"));
        assert.ok(existsSync(p.replace(/\.svg$/, ".vl.json")));
      }
    }
    assert.ok(out.spectrum.plots.some((p) => p.endsWith("spectrum-evolution.svg")));
    // Interventions (not part of "all") with the evaluation module as the metric.
    const iv = runCli(["analyze", "interventions", "--it", itDir, "--st", stDir, "--jb-n", "4", "--alphas", "0,2", "--out", join(root, "iv")]);
    assert.equal(iv.code, 0, iv.stderr);
    assert.match(iv.stdout, /α 2: instruct/);
    // User errors: one line, exit code 2.
    const other = new GPT(tinyConfig({ n_embd: 8 }), undefined, 1);
    makeRun(join(root, "other"), other, "safety");
    for (const [args, msg] of [
      [["analyze", "spectrum", "--it", itDir, "--st", join(root, "other")], /different configs/],
      [["analyze", "spectrum", "--it", join(root, "missing"), "--st", stDir], /no such run directory/],
      [["analyze", "nope", "--it", itDir, "--st", stDir], /unknown analysis "nope"/],
      [["analyze", "clustering", "--it", itDir, "--st", stDir, "--n", "0"], /--n must be/],
    ] as [string[], RegExp][]) {
      const e = runCli(args);
      assert.equal(e.code, 2, e.stderr);
      assert.match(e.stderr, msg);
      assert.equal(e.stderr.trim().split("\n").length, 1);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
