/** Every analysis end to end on a tiny random GPT pair (2 layers, width 16) with real data-module inputs. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterSpectrumPlot, clusteringPlot, runClustering } from "../../src/analysis/clustering.js";
import { columnSpacePlot, columnSpaceReferencePlot, runColumnSpace } from "../../src/analysis/columnspace.js";
import { rowSpaceGainPlot, rowSpaceScoresPlot, runRowSpace } from "../../src/analysis/rowspace.js";
import { runSpectrum, spectrumEvolution, spectrumEvolutionPlot, spectrumPlot } from "../../src/analysis/spectrum.js";
import { lipschitzPlot, runLipschitz } from "../../src/analysis/lipschitz.js";
import { jailbreakPlot, jailbreakTau, strengthPlot } from "../../src/analysis/jailbreaks.js";
import { alphaSweep, interventionPlot } from "../../src/analysis/interventions.js";
import { jailbreakInputs, standardInputs } from "../../src/analysis/inputs.js";
import { evaluateSet } from "../../src/eval/safety-eval.js";
import { renderSvg, writePlot, type VlSpec } from "../../src/plot/index.js";
import { modelPair } from "./helpers.js";

const spec = { seed: 0, split: "test" as const, pcfgs: [1], textLength: { min: 8, max: 8 } };

test("end to end: clustering, column/row space, spectrum, Lipschitz, jailbreak τ, interventions, plots", async () => {
  const { it, st } = modelPair(7);
  const data = standardInputs(spec, 24, 24);
  const models = [{ label: "IT", model: it }, { label: "ST", model: st }];
  const plots: [string, VlSpec][] = [];

  const cl = runClustering(models, data, { spectrumK: 3 });
  assert.equal(cl.result.models.length, 2);
  const L0 = cl.result.models[1].layers[1];
  assert.equal(L0.l2.safe.n, 24);
  assert.ok(L0.l2.auc >= 0 && L0.l2.auc <= 1 && L0.spectrum.unsafe.length === 3);
  plots.push(["clustering", clusteringPlot(cl.result)], ["cluster-spectrum", clusterSpectrumPlot(cl.result)]);

  const cs = runColumnSpace(it, st, { samples: 50 });
  assert.equal(cs.entries.length, 4);
  const fc = cs.entries.find((e) => e.matrix === "c_fc")!;
  assert.deepEqual(fc.shape, [64, 16]);
  assert.equal(fc.left.nullDim, 48);
  assert.ok(Math.abs(fc.left.baselineAnalytic - Math.sqrt(0.75)) < 1e-6);
  assert.equal(cs.entries.find((e) => e.matrix === "c_proj")!.right.nullDim, 48);
  plots.push(["columnspace", columnSpacePlot(cs)], ["columnspace-reference", columnSpaceReferencePlot(cs)]);

  const jb = jailbreakInputs(spec, "jb_co_text", 12);
  const rs = runRowSpace(it, st, { safe: data.testSafe, unsafe: data.testUnsafe, extra: { jb_co_text: jb } }, { topK: 4 });
  assert.equal(rs.layers.length, 2);
  assert.equal(rs.layers[0].directions.length, 4);
  assert.equal(rs.layers[0].gain.groups.jb_co_text.n, 12);
  plots.push(["rowspace-gain", rowSpaceGainPlot(rs)], ["rowspace-scores", rowSpaceScoresPlot(rs)]);

  const sp = runSpectrum(it, st);
  assert.equal(sp.entries.length, 4);
  assert.ok(sp.entries[0].delta.energyRank <= sp.entries[0].it.energyRank);
  const ev = spectrumEvolution(it, [{ step: 5, load: () => st }]);
  plots.push(["spectrum", spectrumPlot(sp)], ["spectrum-evolution", spectrumEvolutionPlot(ev)]);

  const lp = runLipschitz(models, { safe: data.testSafe.slice(0, 8), unsafe: data.testUnsafe.slice(0, 8) }, { bins: 10 });
  assert.ok(lp.models[0].groups.safe.mean > 0);
  assert.equal(lp.histograms.length, 2 * 2 * 10);
  plots.push(["lipschitz", lipschitzPlot(lp)]);

  // Fig. 7: a token group filtered by success and an embedding group (soft tokens) at two strengths.
  const flags = evaluateSet(st, spec, "jb_co_text", 12).outcomes.map((x) => x === "comply");
  assert.equal(flags.length, 12);
  const c = cl.centroids.get("ST")!;
  const emb = st.embedTokens(Int32Array.from(data.testUnsafe.slice(0, 4).flatMap((s) => Array.from(s.tokens).slice(0, 33))), 4, 33);
  const jt = jailbreakTau("ST", st, c, [
    { name: "unsafe", inputs: { sequences: data.testUnsafe } },
    { name: "jb_co_text", family: "jb_co_text", inputs: { sequences: jb }, success: flags.map((_, i) => i % 2 === 0) },
    { name: "adv-1", family: "soft tokens", strength: 1, inputs: { embeds: emb, starts: [14, 14, 14, 14] } },
    { name: "adv-2", family: "soft tokens", strength: 2, inputs: { embeds: emb, starts: [14, 14, 14, 14] }, success: [true, false, true, true] },
  ]);
  assert.equal(jt.groups[1].n, 6);
  assert.equal(jt.groups[1].nTotal, 12);
  assert.equal(jt.groups[3].n, 3);
  // The unsafe test group itself: τ < 0 on average is not guaranteed for random models, but it must equal clustering's.
  assert.equal(jt.groups[0].layers[1].mean, cl.result.models[1].layers[1].l2.unsafe.mean);
  plots.push(["jailbreaks", jailbreakPlot([jt])], ["strength", strengthPlot(jt)]);

  const sw = await alphaSweep(it, st, () => ({ instruct: 0.9, null: 0.5, attack: 0.1 }), { alphas: [0, 1, 2] });
  plots.push(["interventions", interventionPlot([sw])]);

  for (const [name, p] of plots) {
    const svg = await renderSvg(p);
    assert.ok(svg.startsWith("<svg") && svg.includes("</svg>"), `${name} did not render`);
    assert.ok(!svg.includes("NaN"), `${name} contains NaN`);
  }
  const dir = mkdtempSync(join(tmpdir(), "ns-plot-"));
  try {
    const paths = await writePlot(join(dir, "sub"), "clustering", plots[0][1]);
    assert.ok(readFileSync(paths.svg, "utf8").includes("<svg"));
    assert.deepEqual(JSON.parse(readFileSync(paths.spec, "utf8")), JSON.parse(JSON.stringify(plots[0][1])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Every result is plain JSON (round-trips).
  for (const r of [cl.result, cs, rs, sp, ev, lp, jt, sw]) assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});
