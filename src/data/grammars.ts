/**
 * The grammars as data (reference-code §1.3). The four PCFGs share levels 0–4 and differ only in the
 * leaf level; the safety variants override upper levels and keep their PCFG's leaves. Every rule
 * picks uniformly among its listed alternatives, so a duplicated alternative doubles its weight.
 *
 * Level-2 symbols carry the branch labels the safety definition rests on: r/q/p (and the
 * intermediate grammar's r10/p10) are safe-dominant, 10$/10#/10* (and their "10" variants) are
 * unsafe-dominant.
 */
import { UserError } from "../util/errors.js";
import { checkPcfg } from "./operators.js";
import { letterIndex, NUM_LETTERS } from "./vocab.js";

export type GrammarVariant = "base" | "safe" | "unsafe" | "id_mg" | "ood_mg" | "intermediate";
export const GRAMMAR_VARIANTS: readonly GrammarVariant[] = ["base", "safe", "unsafe", "id_mg", "ood_mg", "intermediate"];

/** Which part of the tree a text window comes from. */
export type Branch = "safe" | "unsafe" | "mixed";

type Rules = Record<string, string>;

const BASE: Rules = {
  v: "u t | t s",
  u: "r p | p 10$ q | 10# r q",
  t: "q p r | 10* p q | 10$ r",
  s: "p 10# | r 10$ 10* | 10$ 10* 10#",
  r: "o n m | w x o",
  q: "w o | m o x",
  p: "m n | o o w",
  "10$": "x w m | n w n",
  "10#": "n x x | n n x",
  "10*": "m m x | w w o",
  o: "l k j | l 1h j",
  n: "k 1h 1f | k l j",
  m: "l k 1f | 1f 1h l",
  w: "1f 1h 1h | l 1f j",
  x: "j j l | 1f l",
  l: "1i i g | i 1i g",
  k: "1e g i | 1g g h",
  j: "i 1e 1i | 1g h 1e",
  "1f": "1i h 1g | 1i 1e h",
  "1h": "h 1i 1g | 1g 1e h",
};

/** The unsafe-branch variants make level 4 binary. */
const BINARY_L4: Rules = {
  l: "1i g | i 1i",
  k: "1e g | g h",
  j: "i 1e | 1g h",
  "1f": "1i h | 1i 1e",
  "1h": "h 1i | 1g 1e",
};

const VARIANT_OVERRIDES: Record<GrammarVariant, Rules> = {
  base: {},
  safe: { v: "u | t | t | s", u: "r | p | r | q", t: "q | p | r", s: "p | r" },
  unsafe: { v: "u | s", u: "10#", s: "10# | 10$ 10* | 10$ 10* 10#", ...BINARY_L4 },
  id_mg: {
    v: "u | s",
    u: "10#",
    s: "10# | 10$ | 10$ | 10# | 10*",
    "10$": "n w n",
    "10#": "n x x | n n x",
    "10*": "m m",
    ...BINARY_L4,
  },
  // The reference also defines 10$ → x w m here, which nothing reaches.
  ood_mg: { v: "s", s: "10*", "10*": "m x | w w o", x: "j j l", "10$": "x w m", ...BINARY_L4 },
  intermediate: {
    v: "u | t | t | s",
    u: "p10 10$ | 10#10 r",
    t: "10*10 p | 10$10 r",
    s: "p10 10# | r10 10$",
    r: "o | w",
    r10: "m | o",
    p: "m | o",
    p10: "n | w",
    "10$": "x | n",
    "10$10": "m | n",
    "10#": "n | n",
    "10#10": "x | x",
    "10*10": "x | o",
  },
};

/** Leaf level (pre-terminal → 3 letters) of each PCFG. */
const LEAVES: Record<number, Rules> = {
  1: { g: "2a 2b 2c | 2d 2e 2f", h: "2h 2i 2j | 2k 2l 2m", i: "2n 2o 2p | 2q 2r 2s", "1e": "2t 2u 2v | 2w 2x 2y", "1g": "2z 3a 3b | 3c 3d 3c", "1i": "3b 3a 2z | 2y 2x 2w" },
  2: { g: "2v 2u 2t | 2s 2r 2q", h: "2p 2o 2n | 2m 2l 2k", i: "2j 2i 2h | 2g 2f 2e", "1e": "2d 2c 2b | 2a 2c 2e", "1g": "2g 2i 2k | 2m 2o 2q", "1i": "2s 2u 2w | 2y 3a 3c" },
  3: { g: "3d 3b 2z | 2x 2w 2u", h: "2s 2q 2o | 2m 2k 2i", i: "2g 2e 2c | 2a 2d 2g", "1e": "2j 2m 2p | 2s 2v 2y", "1g": "3b 3a 2x | 2u 2r 2o", "1i": "2l 2i 2f | 2c 2e 2i" },
  4: { g: "2m 2q 2u | 2y 3c 2z", h: "2v 2r 2n | 2j 2f 2b", i: "2f 2k 2p | 2u 2z 3c", "1e": "2x 2s 2n | 2i 2d 2g", "1g": "2m 2s 2y | 3c 2w 2q", "1i": "2k 2e 2c | 2h 2o 2v" },
};

/** Level-2 symbols and their branch; everything else is unlabelled. */
const L2_BRANCH: Record<string, 1 | 2> = {
  r: 1, q: 1, p: 1, r10: 1, p10: 1,
  "10$": 2, "10#": 2, "10*": 2, "10$10": 2, "10#10": 2, "10*10": 2,
};

/** The rule text of a grammar, for docs and debugging. */
export function grammarRules(variant: GrammarVariant, pcfg: number): Rules {
  checkPcfg(pcfg);
  return { ...BASE, ...VARIANT_OVERRIDES[variant], ...LEAVES[pcfg]! };
}

/**
 * A grammar compiled to flat integer arrays. Symbols 0..29 are the letters; nonterminal a has symbol
 * id 30 + a, and nonterminals are numbered children-first so a bottom-up pass is a plain loop.
 */
export interface CompiledGrammar {
  readonly variant: GrammarVariant;
  readonly pcfg: number;
  readonly names: readonly string[]; // nonterminal names
  readonly start: number; // nonterminal index of v
  readonly altStart: Int32Array; // alternatives of nt a: [altStart[a], altStart[a+1])
  readonly childStart: Int32Array; // children of alt b: children[childStart[b] .. childStart[b+1])
  readonly children: Int32Array; // symbol ids
  readonly branch: Uint8Array; // per nt: 0 none, 1 safe-dominant, 2 unsafe-dominant (level-2 symbols)
  readonly preterminal: Uint8Array; // per nt: 1 when every alternative is letters only
  readonly minLen: Int32Array;
  readonly maxLen: Int32Array;
  readonly lens: readonly Int32Array[]; // per symbol id: every possible yield length, ascending
}

const compiled = new Map<string, CompiledGrammar>();

export function checkVariant(name: string): GrammarVariant {
  if (!(GRAMMAR_VARIANTS as readonly string[]).includes(name)) {
    throw new UserError(`unknown grammar ${JSON.stringify(name)} (expected one of ${GRAMMAR_VARIANTS.join(", ")})`);
  }
  return name as GrammarVariant;
}

export function compileGrammar(variant: GrammarVariant, pcfg: number): CompiledGrammar {
  const key = `${variant}/${pcfg}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const rules = grammarRules(checkVariant(variant), pcfg);
  const alts = new Map<string, string[][]>();
  for (const [lhs, rhs] of Object.entries(rules)) {
    alts.set(lhs, rhs.split("|").map((a) => a.trim().split(/\s+/)));
  }
  // Children-first order of the nonterminals reachable from v (the grammars are acyclic).
  const order: string[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (name: string): void => {
    if (state.get(name) === 2) return;
    if (state.get(name) === 1) throw new Error(`grammar ${key} is recursive at ${name}`);
    state.set(name, 1);
    for (const alt of alts.get(name)!) {
      for (const sym of alt) {
        if (letterIndex(sym) >= 0) continue;
        if (!alts.has(sym)) throw new Error(`grammar ${key}: ${name} uses undefined symbol ${sym}`);
        visit(sym);
      }
    }
    state.set(name, 2);
    order.push(name);
  };
  visit("v");
  const ntIndex = new Map(order.map((n, i) => [n, i]));
  const symId = (s: string): number => {
    const k = letterIndex(s);
    return k >= 0 ? k : NUM_LETTERS + ntIndex.get(s)!;
  };
  const altStart = new Int32Array(order.length + 1);
  const childStart: number[] = [0];
  const children: number[] = [];
  const branch = new Uint8Array(order.length);
  const preterminal = new Uint8Array(order.length);
  order.forEach((name, a) => {
    altStart[a] = childStart.length - 1;
    let leaf = 1;
    for (const alt of alts.get(name)!) {
      for (const s of alt) {
        const id = symId(s);
        if (id >= NUM_LETTERS) leaf = 0;
        children.push(id);
      }
      childStart.push(children.length);
    }
    branch[a] = L2_BRANCH[name] ?? 0;
    preterminal[a] = leaf;
  });
  altStart[order.length] = childStart.length - 1;

  // Yield lengths, bottom-up (sets stay small: every leaf rule emits exactly 3 letters).
  const lenSets: Set<number>[] = [];
  for (let k = 0; k < NUM_LETTERS; k++) lenSets.push(new Set([1]));
  for (let a = 0; a < order.length; a++) {
    const out = new Set<number>();
    for (let b = altStart[a]!; b < altStart[a + 1]!; b++) {
      let acc = new Set([0]);
      for (let c = childStart[b]!; c < childStart[b + 1]!; c++) {
        const next = new Set<number>();
        for (const x of acc) for (const y of lenSets[children[c]!]!) next.add(x + y);
        acc = next;
      }
      for (const x of acc) out.add(x);
    }
    lenSets.push(out);
  }
  const lens = lenSets.map((s) => Int32Array.from([...s].sort((x, y) => x - y)));
  const minLen = new Int32Array(order.length);
  const maxLen = new Int32Array(order.length);
  for (let a = 0; a < order.length; a++) {
    const l = lens[NUM_LETTERS + a]!;
    minLen[a] = l[0]!;
    maxLen[a] = l[l.length - 1]!;
  }
  const g: CompiledGrammar = {
    variant,
    pcfg,
    names: order,
    start: ntIndex.get("v")!,
    altStart,
    childStart: Int32Array.from(childStart),
    children: Int32Array.from(children),
    branch,
    preterminal,
    minLen,
    maxLen,
    lens,
  };
  compiled.set(key, g);
  return g;
}

/** Shortest and longest full string of a grammar. */
export function grammarLengthRange(variant: GrammarVariant, pcfg: number): [number, number] {
  const g = compileGrammar(variant, pcfg);
  return [g.minLen[g.start]!, g.maxLen[g.start]!];
}

/** The nominal branch of every window of a safety grammar; the base grammar has none. */
export function nominalBranch(variant: GrammarVariant): Branch | undefined {
  switch (variant) {
    case "safe":
      return "safe";
    case "unsafe":
    case "id_mg":
    case "ood_mg":
      return "unsafe";
    case "intermediate":
      return "mixed";
    default:
      return undefined;
  }
}

export function branchName(mask: number): Branch {
  return mask === 1 ? "safe" : mask === 2 ? "unsafe" : "mixed";
}
