/** Checkpoint and run-file I/O. */
export * from "./atomic.js";
export * from "./safetensors.js";
