/**
 * Loader for the N-API addon built by node-gyp at install time (build/Release/nullspace.node).
 * The addon exports one function per Backend kernel with the same name and argument order, plus
 * `info()` → { threads, simd } and `setThreads(n)`.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "./types.js";

export interface NativeAddon extends Omit<Backend, "name" | "threads"> {
  info(): { threads: number; simd: string };
  setThreads(n: number): void;
}

/** Candidate locations of the compiled addon, relative to dist/src/engine/backend/ or src/engine/backend/. */
function addonPaths(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const paths: string[] = [];
  for (let up = 3; up <= 4; up++) {
    const root = join(here, ...Array(up).fill(".."));
    paths.push(join(root, "build", "Release", "nullspace.node"));
  }
  return paths;
}

let cached: { backend: Backend | null; error: string | null; addon?: NativeAddon } | null = null;

/** Loads the native backend, or returns null with the reason (cached). */
export function loadNativeBackend(): { backend: Backend | null; error: string | null; addon?: NativeAddon } {
  if (cached) return cached;
  const path = addonPaths().find((p) => existsSync(p));
  if (!path) return (cached = { backend: null, error: "native addon not built (build/Release/nullspace.node missing)" });
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as NativeAddon;
    const threadsEnv = process.env.NULLSPACE_THREADS;
    if (threadsEnv) addon.setThreads(Math.max(1, parseInt(threadsEnv, 10) || 1));
    const backend: Backend = {
      name: "native",
      get threads() { return addon.info().threads; },
      sgemm: addon.sgemm,
      linearForward: addon.linearForward,
      linearBackward: addon.linearBackward,
      layernormForward: addon.layernormForward,
      layernormBackward: addon.layernormBackward,
      geluForward: addon.geluForward,
      geluBackward: addon.geluBackward,
      attentionForward: addon.attentionForward,
      attentionBackward: addon.attentionBackward,
      crossEntropyForward: addon.crossEntropyForward,
      crossEntropyBackward: addon.crossEntropyBackward,
      add: addon.add,
      axpy: addon.axpy,
      scale: addon.scale,
      sumSquares: addon.sumSquares,
      adamw: addon.adamw,
    };
    return (cached = { backend, error: null, addon });
  } catch (err) {
    return (cached = { backend: null, error: `native addon failed to load: ${(err as Error).message.split("\n")[0]}` });
  }
}

/** SIMD path and thread count of the loaded addon, for benchmarks and reports. */
export function nativeInfo(): { threads: number; simd: string } | null {
  return loadNativeBackend().addon?.info() ?? null;
}
