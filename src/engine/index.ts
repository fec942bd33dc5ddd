/** The engine: tensors, the tape, ops, optimiser and kernels. */
export * from "./tensor.js";
export * from "./ops/nn.js";
export * from "./ops/elementwise.js";
export * from "./optim.js";
export * from "./rng.js";
export { backend, setBackend, getBackend, jsBackend } from "./backend/index.js";
export type { Backend, BackendName } from "./backend/index.js";
