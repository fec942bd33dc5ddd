/** `nullspace inspect …`: look inside a checkpoint (forward pass, hooks) without writing code. */
import type { Command } from "commander";
import { noGrad } from "../engine/tensor.js";
import { loadModel } from "../model/checkpoint.js";
import { meanCrossEntropy } from "../model/loss.js";
import { UserError } from "../util/errors.js";

/** Parses "17 0 1 4" or "17,0,1,4" into ids, checking each against the vocabulary. */
export function parseTokens(text: string, vocabSize: number): Int32Array {
  const parts = text.trim().split(/[\s,]+/).filter((s) => s.length > 0);
  if (parts.length === 0) throw new UserError("--tokens: expected at least one token id");
  return Int32Array.from(parts, (s, i) => {
    if (!/^\d+$/.test(s)) throw new UserError(`--tokens: item ${i} ("${s}") is not a non-negative integer`);
    const v = Number(s);
    if (v >= vocabSize) throw new UserError(`--tokens: token id ${v} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    return v;
  });
}

export function registerInspect(program: Command): void {
  const inspect = program.command("inspect").description("look inside a checkpoint");
  inspect
    .command("forward")
    .description("run one sequence through a checkpoint and print logits, the next-token loss and cached hooks")
    .requiredOption("--model <dir>", "checkpoint directory (model.safetensors + config.json) or a .safetensors file")
    .requiredOption("--tokens <ids>", 'token ids, e.g. "17 0 1 4 12 19"')
    .option("--hooks <names>", "comma-separated hook names to return (e.g. blocks.0.mlp.hook_post)")
    .option("--json", "print JSON (the default output is JSON too; the flag is accepted for symmetry)")
    .action((opts: { model: string; tokens: string; hooks?: string }) => {
      const model = loadModel(opts.model);
      const tokens = parseTokens(opts.tokens, model.config.vocab_size);
      const T = tokens.length;
      if (T > model.config.block_size) throw new UserError(`--tokens: ${T} tokens exceed the model's block_size ${model.config.block_size}`);
      const names = opts.hooks ? opts.hooks.split(",").map((s) => s.trim()).filter(Boolean) : [];
      const valid = new Set(model.hookNames());
      for (const n of names) if (!valid.has(n)) throw new UserError(`--hooks: unknown hook "${n}" (see \`nullspace inspect hooks --model ${opts.model}\`)`);
      const { logits, cache } = noGrad(() => model.runWithCache({ tokens, B: 1, T }, { namesFilter: names }));
      // Next-token loss over positions 0..T-2 (null for a single token).
      let loss: number | null = null;
      if (T > 1) {
        const V = model.config.vocab_size;
        const targets = new Int32Array(T).fill(-1);
        for (let t = 0; t < T - 1; t++) targets[t] = tokens[t + 1];
        loss = noGrad(() => meanCrossEntropy(logits.reshape([1, T, V]), targets)).item();
      }
      const hooks: Record<string, unknown> = {};
      for (const n of names) {
        const t = cache.get(n)!;
        // Drop the batch axis of 1 for readability, except for the position table which has none.
        hooks[n] = n === "hook_pos_embed" ? t.toNested() : (t.toNested() as unknown[])[0];
      }
      process.stdout.write(JSON.stringify({ logits: (logits.toNested() as unknown[])[0], loss, hooks }) + "\n");
    });
  inspect
    .command("hooks")
    .description("list the hook points of a checkpoint's model")
    .requiredOption("--model <dir>", "checkpoint directory")
    .option("--json", "print a JSON array")
    .action((opts: { model: string; json?: boolean }) => {
      const names = loadModel(opts.model).hookNames();
      process.stdout.write(opts.json ? JSON.stringify(names) + "\n" : names.join("\n") + "\n");
    });
}
