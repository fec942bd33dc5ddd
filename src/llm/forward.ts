/**
 * Memory-bounded Llama forward pass over a whole prompt set (inference only). The residual stream of every
 * prompt [Σ T_i, D] stays in memory; the weights stream through it one sublayer at a time (load attention,
 * apply it to all prompts in chunks, drop it; the same for the MLP), so peak memory is the residual stream
 * plus one sublayer's float32 weights plus chunk scratch. Hooks use our synthetic model's TransformerLens
 * names, and a position selector reduces each prompt's [T, width] activation to what the caller keeps.
 */
import { backend as defaultBackend } from "../engine/backend/index.js";
import type { Backend } from "../engine/backend/types.js";
import { UserError } from "../util/errors.js";
import type { LlamaCheckpoint } from "./checkpoint.js";
import type { LlamaConfig } from "./config.js";
import { attnSublayer, loadAttn, loadMlp, mlpSublayer, rmsNorm, Scratch, type ChunkCtx } from "./model-layer.js";
import { RopeTable, ropeInvFreq } from "./model-rope.js";

/**
 * Reduces one prompt's activation `act` [T, width] (a view valid only during the call) to what is kept,
 * e.g. the mean over the last k positions [width]. Returning `act` itself keeps a copy of it.
 */
export type PositionSelector = (act: Float32Array, info: { hook: string; prompt: number; T: number; width: number }) => Float32Array;

export interface LlamaForwardOptions {
  /** Hook names to record (see llamaHookNames); unknown names are rejected. */
  hooks?: readonly string[];
  /** Default: keep the whole [T, width] activation. */
  select?: PositionSelector;
  /** false (default): no lm_head; "last": logits [V] at each prompt's last position; "all": [T, V] per prompt. */
  logits?: false | "last" | "all";
  /** Upper bound on the tokens processed together (attention and MLP scratch scale with it); default 1024. */
  chunkTokens?: number;
  backend?: Backend;
  /** lm_head rows read and applied at a time (default: 64 MiB of float32 rows). */
  headBlockRows?: number;
  /** Called after each layer with the number of layers this run computes (progress for long runs). */
  onLayer?: (layer: number, layers: number) => void;
}

export interface LlamaForwardResult {
  /** hook name → one entry per prompt, each what the selector returned. */
  hooks: Map<string, Float32Array[]>;
  /** Per prompt: [T, V] for "all", [V] for "last"; null when logits were not requested. */
  logits: Float32Array[] | null;
}

const LAYER_HOOKS = [
  "hook_resid_pre", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v", "hook_attn_out", "hook_resid_mid",
  "ln2.hook_normalized", "mlp.hook_in", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post",
] as const;

/** Every hook point, in forward order. */
export function llamaHookNames(cfg: LlamaConfig): string[] {
  const names = ["hook_embed"];
  for (let l = 0; l < cfg.numLayers; l++) for (const h of LAYER_HOOKS) names.push(`blocks.${l}.${h}`);
  names.push("ln_final.hook_normalized");
  return names;
}

/** Width of a hook's per-token activation (q is H·hd, k/v are KV·hd, MLP hidden is I, the rest D). */
export function llamaHookWidth(cfg: LlamaConfig, hook: string): number {
  if (hook.endsWith("attn.hook_q")) return cfg.numHeads * cfg.headDim;
  if (hook.endsWith("attn.hook_k") || hook.endsWith("attn.hook_v")) return cfg.numKvHeads * cfg.headDim;
  if (hook.endsWith("mlp.hook_pre") || hook.endsWith("mlp.hook_post")) return cfg.intermediateSize;
  return cfg.hiddenSize;
}

/** Keeps the mean over the last k positions (all positions when T < k): [width]. */
export function meanLastPositions(k: number): PositionSelector {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`meanLastPositions: k must be an integer >= 1, got ${k}`);
  return (act, { T, width }) => {
    const from = Math.max(0, T - k);
    const acc = new Float64Array(width);
    for (let t = from; t < T; t++) for (let c = 0; c < width; c++) acc[c]! += act[t * width + c]!;
    return Float32Array.from(acc, (v) => v / (T - from));
  };
}

/** Keeps the last position only: [width]. */
export const lastPosition: PositionSelector = (act, { T, width }) => act.slice((T - 1) * width, T * width);

/** Runs the model over `prompts` (token ids, variable lengths). */
export function runLlama(ck: LlamaCheckpoint, prompts: readonly ArrayLike<number>[], opts: LlamaForwardOptions = {}): LlamaForwardResult {
  const cfg = ck.config;
  const be = opts.backend ?? defaultBackend();
  const D = cfg.hiddenSize;
  const wanted = checkHooks(cfg, opts.hooks ?? []);
  const logitsMode = opts.logits ?? false;
  const select = opts.select ?? ((a: Float32Array) => a);
  const lens = checkPrompts(cfg, prompts);
  const N = lens.reduce((a, b) => a + b, 0);
  const chunks = makeChunks(lens, opts.chunkTokens ?? 1024);

  const out = new Map<string, Float32Array[]>();
  for (const h of wanted) out.set(h, new Array<Float32Array>(prompts.length));
  /** Splits a chunk's activation [n, width] into prompts and stores what the selector keeps. */
  const recorder = (first: number, chunkLens: readonly number[]) => (hook: string, act: Float32Array, width: number) => {
    const store = out.get(hook);
    if (!store) return;
    let row = 0;
    chunkLens.forEach((T, j) => {
      const view = act.subarray(row * width, (row + T) * width);
      let kept = select(view, { hook, prompt: first + j, T, width });
      if (!(kept instanceof Float32Array)) throw new TypeError(`position selector for ${hook} must return a Float32Array`);
      if (kept.buffer === act.buffer) kept = kept.slice(); // scratch is reused by the next chunk
      store[first + j] = kept;
      row += T;
    });
  };

  // Embeddings: only the rows the prompts use are read from disk.
  const ids = new Int32Array(N);
  let pos = 0;
  for (const p of prompts) for (let t = 0; t < p.length; t++) ids[pos++] = p[t]!;
  const resid = ck.readRows("model.embed_tokens.weight", ids); // [N, D]
  forChunks(chunks, (c, x) => recorder(c.first, c.lens)("hook_embed", x, D), resid, D);

  // Layers past the last wanted hook change nothing the caller sees.
  const needTop = logitsMode !== false || wanted.has("ln_final.hook_normalized");
  let lastLayer = needTop ? cfg.numLayers - 1 : -1;
  for (const h of wanted) {
    const m = /^blocks\.(\d+)\./.exec(h);
    if (m) lastLayer = Math.max(lastLayer, Number(m[1]));
  }
  const scratch = new Scratch();
  const rope = new RopeTable(ropeInvFreq(cfg));
  const ctxFor = (c: Chunk): ChunkCtx => ({ be, cfg, rope, scratch, lens: c.lens, rec: recorder(c.first, c.lens) });
  // One function call per sublayer, so its weights are unreachable (collectable) once it returns.
  const attnPass = (l: number) => {
    const w = loadAttn(ck, l);
    forChunks(chunks, (c, x, n) => {
      const ctx = ctxFor(c);
      ctx.rec(`blocks.${l}.hook_resid_pre`, x, D);
      attnSublayer(ctx, l, w, x, n);
    }, resid, D);
  };
  const mlpPass = (l: number) => {
    const w = loadMlp(ck, l);
    forChunks(chunks, (c, x, n) => mlpSublayer(ctxFor(c), l, w, x, n), resid, D);
  };
  for (let l = 0; l <= lastLayer; l++) {
    attnPass(l);
    mlpPass(l);
    opts.onLayer?.(l, lastLayer + 1);
  }
  if (!needTop) return { hooks: out, logits: null };
  return { hooks: out, logits: top(ck, be, chunks, resid, logitsMode, opts.headBlockRows, recorder) };
}

/** lm_head rows are read and applied in blocks of this many bytes (float32), so 7B logits never hold all of it. */
const HEAD_BLOCK_BYTES = 64 << 20;

/** Final RMSNorm (recorded as ln_final.hook_normalized; in place, the residual stream is done) and, if asked, lm_head. */
function top(
  ck: LlamaCheckpoint, be: Backend, chunks: Chunk[], resid: Float32Array, mode: false | "last" | "all", headBlockRows: number | undefined,
  recorder: (first: number, lens: readonly number[]) => (hook: string, act: Float32Array, width: number) => void,
): Float32Array[] | null {
  const cfg = ck.config, D = cfg.hiddenSize, V = cfg.vocabSize;
  const normW = ck.read("model.norm.weight");
  forChunks(chunks, (c, x, n) => {
    rmsNorm(x, x, normW, n, D, cfg.rmsNormEps); // [n, D]
    recorder(c.first, c.lens)("ln_final.hook_normalized", x, D);
  }, resid, D);
  if (mode === false) return null;
  const lens = chunks.flatMap((c) => c.lens);
  const P = lens.length;
  // "last": the last row of every prompt [P, D] as one batch; "all": each prompt's rows [T, D].
  const inputs: { x: Float32Array; rows: number }[] = [];
  if (mode === "last") {
    const last = new Float32Array(P * D); // [P, D]
    let end = 0;
    lens.forEach((T, i) => {
      end += T;
      last.set(resid.subarray((end - 1) * D, end * D), i * D);
    });
    inputs.push({ x: last, rows: P });
  } else {
    let row = 0;
    for (const T of lens) {
      inputs.push({ x: resid.subarray(row * D, (row + T) * D), rows: T });
      row += T;
    }
  }
  const outs = inputs.map((inp) => new Float32Array(inp.rows * V)); // [rows, V]
  const headName = cfg.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const block = headBlockRows ?? Math.max(1, Math.floor(HEAD_BLOCK_BYTES / (4 * D)));
  for (let v0 = 0; v0 < V; v0 += block) {
    const nv = Math.min(block, V - v0);
    const w = ck.readRows(headName, Int32Array.from({ length: nv }, (_, i) => v0 + i)); // [nv, D]
    // Columns v0 … v0+nv of each output: out[:, v0:] = x @ wᵀ with leading dimension V.
    inputs.forEach((inp, i) => be.sgemm(false, true, inp.rows, nv, D, inp.x, D, w, D, 0, outs[i]!.subarray(v0), V));
  }
  if (mode === "all") return outs;
  return lens.map((_, i) => outs[0]!.subarray(i * V, (i + 1) * V));
}

interface Chunk {
  /** Index of the chunk's first prompt. */
  first: number;
  lens: number[];
  /** First row of the chunk in the residual stream. */
  row: number;
  tokens: number;
}

/** Consecutive prompts grouped so each group has at most `maxTokens` tokens (a longer prompt goes alone). */
function makeChunks(lens: readonly number[], maxTokens: number): Chunk[] {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`chunkTokens must be an integer >= 1, got ${maxTokens}`);
  const chunks: Chunk[] = [];
  let row = 0;
  lens.forEach((T, i) => {
    const cur = chunks[chunks.length - 1];
    if (cur && cur.tokens + T <= maxTokens) {
      cur.lens.push(T);
      cur.tokens += T;
    } else chunks.push({ first: i, lens: [T], row, tokens: T });
    row += T;
  });
  return chunks;
}

function forChunks(chunks: Chunk[], fn: (c: Chunk, x: Float32Array, n: number) => void, resid: Float32Array, D: number): void {
  for (const c of chunks) fn(c, resid.subarray(c.row * D, (c.row + c.tokens) * D), c.tokens);
}

function checkHooks(cfg: LlamaConfig, hooks: readonly string[]): Set<string> {
  const valid = new Set(llamaHookNames(cfg));
  for (const h of hooks) {
    if (!valid.has(h)) {
      const shown = [...valid].filter((n) => !n.startsWith("blocks.") || n.startsWith("blocks.0.")).join(", ");
      throw new UserError(`unknown hook "${h}"; valid hooks: ${shown} (blocks.0 … blocks.${cfg.numLayers - 1})`);
    }
  }
  return new Set(hooks);
}

function checkPrompts(cfg: LlamaConfig, prompts: readonly ArrayLike<number>[]): number[] {
  if (prompts.length === 0) throw new UserError("runLlama: no prompts");
  return prompts.map((p, i) => {
    if (p.length === 0) throw new UserError(`prompt ${i} is empty`);
    if (p.length > cfg.maxPositionEmbeddings) throw new UserError(`prompt ${i} has ${p.length} tokens, more than max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    for (let t = 0; t < p.length; t++) {
      const id = p[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new UserError(`prompt ${i} token ${t} is ${id}, outside the vocabulary [0, ${cfg.vocabSize})`);
    }
    return p.length;
  });
}
