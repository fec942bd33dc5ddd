export * from "./config.js";
export * from "./params.js";
export * from "./hooks.js";
export * from "./gpt.js";
export * from "./loss.js";
export * from "./checkpoint.js";
