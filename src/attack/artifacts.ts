/**
 * Attack artifacts, so the analyses can place adversarial inputs in activation space (Fig. 7):
 *
 *  attack.json                 the AttackResult (settings, rates, loss curve, per-item outcomes)
 *  attack-inputs.safetensors   the attacked inputs of the successful items (all items with saveAll):
 *    embeds   [S, T, C]  input embeddings of `$ ops * text [s1..sn] > out1 *^ out2` (the compliant continuation
 *                        teacher-forced, as the reference's x_unsafe_tgt, without its last `*^`), with the attack's
 *                        position ids folded in: a plain forward pass (the model adds positions 0..T−1) computes
 *                        exactly what the attack computed. T may exceed the model's block: run it through
 *                        modelForLength(model, T). Rows of shorter texts are zero-padded at the end (harmless:
 *                        attention is causal; see `length`).
 *    positions [T_max]   positions the attack used per x position of the longest group (fractional at the slots
 *                        under "keep").
 *    tokens   [S, T]     token ids, −1 at the slots, PAD (20) after `length`
 *    slots    [S, n]     slot positions;  eot [S]: position of `>` (window start for output-position features)
 *    index    [S]        item index in the set;  length [S]: valid positions;  success [S]: 1/0
 *    delta    [D, n, C]  soft: the perturbations (D = S, or 1 when universal);  slot_tokens [S, n]: GCG's tokens
 *  Integers are stored as F32 (exact below 2^24): the writer is F32-only, as the checkpoints are.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";
import { readSafetensors, writeSafetensors, type TensorF32 } from "../io/safetensors.js";
import { PAD } from "../data/vocab.js";
import { Tensor } from "../engine/tensor.js";
import { UserError } from "../util/errors.js";
import type { AttackOutput } from "./types.js";

export const ATTACK_JSON = "attack.json";
export const ATTACK_INPUTS = "attack-inputs.safetensors";

/** Writes attack.json and attack-inputs.safetensors into dir. Returns the number of rows saved. */
export function writeAttackArtifacts(dir: string, out: AttackOutput, opts: { saveAll?: boolean; meta?: Record<string, string> } = {}): number {
  mkdirSync(dir, { recursive: true });
  const r = out.result;
  writeJsonAtomic(join(dir, ATTACK_JSON), r);
  const picked: { gi: number; b: number; r: number }[] = [];
  out.groups.forEach((g, gi) => g.rows.forEach((row, b) => {
    if (opts.saveAll || r.items[row]!.success) picked.push({ gi, b, r: row });
  }));
  const S = picked.length, n = r.tokens;
  const C = out.embeds[0] ? out.embeds[0].length / (out.groups[0]!.B * out.groups[0]!.T) : 0;
  const T = Math.max(0, ...out.groups.map((g) => g.T));
  const embeds = new Float32Array(S * T * C), tokens = new Float32Array(S * T).fill(PAD);
  const slots = new Float32Array(S * n), eot = new Float32Array(S), index = new Float32Array(S), length = new Float32Array(S), success = new Float32Array(S);
  const slotTokens = out.slotTokens ? new Float32Array(S * n) : null;
  const delta = out.delta ? new Float32Array((r.universal ? 1 : S) * n * C) : null;
  picked.forEach(({ gi, b, r: row }, s) => {
    const g = out.groups[gi]!;
    embeds.set(out.plainEmbeds[gi]!.subarray(b * g.T * C, (b + 1) * g.T * C), s * T * C);
    for (let t = 0; t < g.T; t++) tokens[s * T + t] = g.tokens[b * g.T + t]!;
    g.slots.forEach((p, j) => {
      tokens[s * T + p] = -1;
      slots[s * n + j] = p;
    });
    eot[s] = g.eot;
    index[s] = r.items[row]!.index;
    length[s] = g.T;
    success[s] = r.items[row]!.success ? 1 : 0;
    const d = r.universal ? 0 : row;
    if (slotTokens) for (let j = 0; j < n; j++) slotTokens[s * n + j] = out.slotTokens![d * n + j]!;
    if (delta && !r.universal) delta.set(out.delta!.subarray(d * n * C, (d + 1) * n * C), s * n * C);
  });
  if (delta && r.universal) delta.set(out.delta!.subarray(0, n * C));
  const longest = out.groups.reduce((a, g) => (g.T > a.T ? g : a), out.groups[0]!);
  const tensors: Record<string, TensorF32> = {
    positions: { shape: [T], data: Float32Array.from(longest.positions) },
    embeds: { shape: [S, T, C], data: embeds },
    tokens: { shape: [S, T], data: tokens },
    slots: { shape: [S, n], data: slots },
    eot: { shape: [S], data: eot },
    index: { shape: [S], data: index },
    length: { shape: [S], data: length },
    success: { shape: [S], data: success },
  };
  if (slotTokens) tensors.slot_tokens = { shape: [S, n], data: slotTokens };
  if (delta) tensors.delta = { shape: [r.universal ? 1 : S, n, C], data: delta };
  const meta: Record<string, string> = { method: r.method, tokens: String(n), steps: String(r.steps), universal: String(r.universal), positions: r.positions, ...(r.set ? { set: r.set } : {}), ...(r.model ? { model: r.model } : {}), ...(opts.meta ?? {}) };
  writeSafetensors(join(dir, ATTACK_INPUTS), tensors, meta);
  return S;
}

/** The saved adversarial inputs, ready for `extractFeaturesFromEmbeds(model, embeds, eot, …)`. */
export interface AttackInputs {
  embeds: Tensor;
  tokens: Int32Array;
  slots: Int32Array;
  eot: Int32Array;
  index: Int32Array;
  length: Int32Array;
  success: boolean[];
  positions: Float32Array;
  delta?: Tensor;
  slotTokens?: Int32Array;
  meta: Record<string, string>;
}

/** Reads attack-inputs.safetensors from an attack directory (or the file itself). */
export function readAttackInputs(dirOrFile: string): AttackInputs {
  const file = dirOrFile.endsWith(".safetensors") ? dirOrFile : join(dirOrFile, ATTACK_INPUTS);
  const { tensors, metadata } = readSafetensors(file);
  const get = (k: string) => {
    const t = tensors.get(k);
    if (!t) throw new UserError(`${file}: no tensor "${k}" (not an attack-inputs file?)`);
    return t;
  };
  const ints = (k: string) => Int32Array.from(get(k).data);
  const e = get("embeds");
  const out: AttackInputs = {
    embeds: new Tensor(e.data, e.shape), tokens: ints("tokens"), slots: ints("slots"), eot: ints("eot"), index: ints("index"),
    length: ints("length"), positions: get("positions").data, success: Array.from(get("success").data, (v) => v === 1), meta: metadata,
  };
  const d = tensors.get("delta");
  if (d) out.delta = new Tensor(d.data, d.shape);
  if (tensors.has("slot_tokens")) out.slotTokens = ints("slot_tokens");
  return out;
}
