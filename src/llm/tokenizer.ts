/**
 * Hugging Face tokenizers from a local model directory: `tokenizer.json` through @huggingface/tokenizers and the
 * `chat_template` (tokenizer_config.json, or chat_template.jinja beside it) through @huggingface/jinja. Nothing is
 * fetched: the files must be in the directory.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import { UserError } from "../util/errors.js";
import { readJsonFile } from "../io/json-file.js";
import { oneLine } from "../io/format.js";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface EncodeOptions {
  /** Wrap the text as one user message (after an optional system message) in the chat template. */
  chat?: boolean;
  system?: string;
}

export interface LlamaTokenizer {
  /** Plain text gets the tokenizer's special tokens (e.g. BOS); chat text gets exactly what the template writes. */
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** The chat template rendered with add_generation_prompt: true (throws if there is no template). */
  applyChatTemplate(messages: readonly ChatMessage[]): string;
  readonly hasChatTemplate: boolean;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  tokenToId(token: string): number | undefined;
}

/** Loads `<dir>/tokenizer.json` (+ tokenizer_config.json when present). */
export function loadTokenizer(dir: string): LlamaTokenizer {
  const tokFile = join(dir, "tokenizer.json");
  if (!existsSync(tokFile)) throw new UserError(`${tokFile}: missing (tokenization needs the model's tokenizer.json)`);
  const tokJson = readJson(tokFile);
  const cfgFile = join(dir, "tokenizer_config.json");
  const cfg = existsSync(cfgFile) ? readJson(cfgFile) : {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokJson, cfg);
  } catch (e) {
    throw new UserError(`${tokFile}: cannot build the tokenizer (${oneLine((e as Error).message)})`);
  }
  const bosToken = tokenString(cfg.bos_token);
  const eosToken = tokenString(cfg.eos_token);
  const source = chatTemplateSource(dir, cfgFile, cfg);
  let template: Template | null = null;
  if (source !== null) {
    try {
      template = new Template(source);
    } catch (e) {
      throw new UserError(`${cfgFile}: chat_template does not parse (${oneLine((e as Error).message)})`);
    }
  }

  const applyChatTemplate = (messages: readonly ChatMessage[]): string => {
    if (!template) throw new UserError(`${dir}: the tokenizer has no chat_template (in tokenizer_config.json or chat_template.jinja)`);
    try {
      return template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: true,
        bos_token: bosToken ?? "",
        eos_token: eosToken ?? "",
      });
    } catch (e) {
      throw new UserError(`${cfgFile}: chat_template failed to render (${oneLine((e as Error).message)})`);
    }
  };

  return {
    hasChatTemplate: template !== null,
    bosToken,
    eosToken,
    applyChatTemplate,
    encode(text, opts = {}) {
      if (!opts.chat) return tok.encode(text).ids;
      const messages: ChatMessage[] = opts.system !== undefined ? [{ role: "system", content: opts.system }] : [];
      messages.push({ role: "user", content: text });
      // As transformers' apply_chat_template: the template writes BOS itself, so no special tokens are added.
      return tok.encode(applyChatTemplate(messages), { add_special_tokens: false }).ids;
    },
    decode: (ids, opts = {}) => tok.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false }),
    tokenToId: (t) => tok.token_to_id(t),
  };
}

/** The template: tokenizer_config.json's chat_template (a string, or a list of named ones: "default"), else chat_template.jinja. */
function chatTemplateSource(dir: string, cfgFile: string, cfg: Record<string, unknown>): string | null {
  const t = cfg.chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) {
    const named = t.find((e): e is { name: string; template: string } => typeof e?.template === "string" && e?.name === "default");
    if (!named) throw new UserError(`${cfgFile}: chat_template is a list without a "default" entry`);
    return named.template;
  }
  if (t !== undefined && t !== null) throw new UserError(`${cfgFile}: chat_template must be a string or a list of {name, template}`);
  const jinja = join(dir, "chat_template.jinja");
  return existsSync(jinja) ? readFileSync(jinja, "utf8") : null;
}

/** bos_token / eos_token are a string or an AddedToken object {content, …}. */
function tokenString(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return null;
}

function readJson(file: string): Record<string, unknown> {
  const raw = readJsonFile(file);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UserError(`${file}: expected a JSON object`);
  return raw as Record<string, unknown>;
}
