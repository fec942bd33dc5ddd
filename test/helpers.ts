/** Shared test helpers (not a test file: node --test only runs *.test.js). */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";

/** Repository root (tests run from dist/test/). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs the CLI as a user would, through bin/nullspace.js. */
export function runCli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "nullspace.js"), ...args], {
    encoding: "utf8",
    input: opts.input,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
