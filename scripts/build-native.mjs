// Builds the optional native kernels (N-API addon) with node-gyp during `npm ci`.
// A failed build must never fail the install: nullspace then runs on the `js` backend and says so once.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.env.NULLSPACE_SKIP_NATIVE === "1") {
  console.log("nullspace: NULLSPACE_SKIP_NATIVE=1, skipping native build (js backend will be used)");
  process.exit(0);
}
if (!existsSync(join(root, "binding.gyp"))) process.exit(0);
// npm exposes its bundled node-gyp through npm_config_node_gyp; fall back to one on PATH.
const gyp = process.env.npm_config_node_gyp;
const cmd = gyp ? process.execPath : "node-gyp";
const args = gyp ? [gyp, "rebuild"] : ["rebuild"];
const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: process.env });
if (r.status !== 0) {
  console.warn("nullspace: native build failed; the js backend will be used (slower). Install python3, make and g++ and run `npm rebuild nullspace` to retry.");
}
process.exit(0);
