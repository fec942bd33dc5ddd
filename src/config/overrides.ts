/**
 * Dotted CLI overrides (`--set model.n_layer=4 --set train.lr=3e-3`) applied to a typed defaults object, in the
 * style of minGPT's `merge_from_args`: the key must exist and the value must have the default's type.
 */
import { UserError } from "../util/errors.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** All leaf keys of a config object, dotted (arrays are leaves). */
export function leafKeys(obj: unknown, prefix = ""): string[] {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return [prefix];
  return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k));
}

function parseValue(key: string, text: string, like: unknown): Json {
  const fail = (what: string) => new UserError(`--set ${key}=${text}: expected ${what}`);
  if (typeof like === "number") {
    const v = Number(text);
    if (text.trim() === "" || !Number.isFinite(v)) throw fail("a number");
    return v;
  }
  if (typeof like === "boolean") {
    if (text === "true" || text === "1") return true;
    if (text === "false" || text === "0") return false;
    throw fail("true or false");
  }
  if (typeof like === "string") return text;
  if (Array.isArray(like) || like === null || typeof like === "object") {
    let v: Json;
    try {
      v = JSON.parse(text) as Json;
    } catch {
      // Allow "1,2,3" for number lists.
      if (Array.isArray(like) && /^[-\d.eE+,\s]+$/.test(text)) v = text.split(",").map((s) => Number(s));
      else throw fail(Array.isArray(like) ? "a JSON array (or 1,2,3)" : "JSON");
    }
    if (Array.isArray(like) && !Array.isArray(v)) throw fail("an array");
    if (Array.isArray(like) && like.length > 0 && Array.isArray(v)) {
      const t = typeof like[0];
      if (v.some((x) => typeof x !== t)) throw fail(`an array of ${t}s`);
    }
    return v;
  }
  throw fail("a value");
}

/**
 * Returns a deep copy of `base` with `assignments` ("a.b=v") applied; unknown keys list the valid ones.
 * `nullable` names optional object fields (key → the object's shape): they take `null` or a whole JSON object of
 * that shape, e.g. `--set data.p_unsafe_by_category={"safe":0.2,"id_mg":0.6}` or `…=null`.
 */
export function applyOverrides<T>(base: T, assignments: readonly string[], nullable: Record<string, Json> = {}): T {
  const out = structuredClone(base) as Record<string, unknown>;
  for (const a of assignments) {
    const valid = [...new Set([...leafKeys(out), ...Object.keys(nullable)])];
    const eq = a.indexOf("=");
    if (eq <= 0) throw new UserError(`--set ${a}: expected key=value`);
    const key = a.slice(0, eq).trim(), text = a.slice(eq + 1);
    if (!valid.includes(key)) throw new UserError(`--set ${key}: unknown key; valid keys: ${valid.join(", ")}`);
    const path = key.split(".");
    let node = out;
    for (const p of path.slice(0, -1)) node = node[p] as Record<string, unknown>;
    const leaf = path[path.length - 1];
    if (key in nullable) {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        throw new UserError(`--set ${key}=${text}: expected null or a JSON object like ${JSON.stringify(nullable[key])}`);
      }
      if (v !== null) checkShape(v, nullable[key], `--set ${key}`);
      node[leaf] = v;
    } else node[leaf] = parseValue(key, text, node[leaf]);
  }
  return out as T;
}

/**
 * Checks a config read from disk against the defaults' shape (same keys, same leaf types). `where` names the file.
 */
export function checkShape(value: unknown, like: unknown, where: string, path = ""): void {
  const at = path || "(root)";
  if (like === null || typeof like !== "object" || Array.isArray(like)) {
    if (Array.isArray(like) ? !Array.isArray(value) : typeof value !== typeof like) {
      throw new UserError(`${where}: field "${at}" should be ${Array.isArray(like) ? "an array" : `a ${typeof like}`}, got ${JSON.stringify(value)}`);
    }
    return;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${where}: field "${at}" should be an object`);
  for (const k of Object.keys(like)) {
    if (!(k in (value as object))) throw new UserError(`${where}: missing field "${path ? path + "." : ""}${k}"`);
    checkShape((value as Record<string, unknown>)[k], (like as Record<string, unknown>)[k], where, path ? `${path}.${k}` : k);
  }
  for (const k of Object.keys(value as object)) {
    if (!(k in (like as object))) throw new UserError(`${where}: unknown field "${path ? path + "." : ""}${k}"`);
  }
}
