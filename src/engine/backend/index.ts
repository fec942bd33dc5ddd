/**
 * Backend selection: native when the addon is built, js otherwise; NULLSPACE_BACKEND=js|native forces one.
 * Falling back to js is announced once on stderr, because it is ~50× slower and users should know why.
 */
import { UserError } from "../../util/errors.js";
import { jsBackend } from "./js.js";
import { loadNativeBackend } from "./native.js";
import type { Backend, BackendName } from "./types.js";

export type { Backend, BackendName } from "./types.js";
export { jsBackend } from "./js.js";

let current: Backend | null = null;
let warned = false;

/** Returns the named backend, throwing a UserError if native is requested but unavailable. */
export function getBackend(name: BackendName): Backend {
  if (name === "js") return jsBackend;
  const r = loadNativeBackend();
  if (!r.backend) throw new UserError(`NULLSPACE_BACKEND=native requested but ${r.error}; run \`npm rebuild\` (needs python3, make, g++)`);
  return r.backend;
}

/** The process-wide default backend. */
export function backend(): Backend {
  if (current) return current;
  const forced = process.env.NULLSPACE_BACKEND;
  if (forced !== undefined && forced !== "") {
    if (forced !== "js" && forced !== "native") throw new UserError(`NULLSPACE_BACKEND must be "js" or "native", got "${forced}"`);
    current = getBackend(forced);
    return current;
  }
  const r = loadNativeBackend();
  if (r.backend) current = r.backend;
  else {
    if (!warned) process.stderr.write(`nullspace: using the js backend (${r.error})\n`);
    warned = true;
    current = jsBackend;
  }
  return current;
}

/** Switches the process-wide backend (tests compare backends this way). */
export function setBackend(b: Backend): void {
  current = b;
}
