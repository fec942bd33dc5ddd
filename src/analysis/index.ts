/** The mechanistic analyses (paper §4–5) as a library; see docs/analyses.md. */
export * from "./linalg.js";
export * from "./rsvd.js";
export * from "./symeig.js";
export * from "./stats.js";
export * from "./features.js";
export * from "./weights.js";
export * from "./inputs.js";
export * from "./clustering.js";
export * from "./columnspace.js";
export * from "./rowspace.js";
export * from "./spectrum.js";
export * from "./lipschitz.js";
export * from "./jailbreaks.js";
export * from "./interventions.js";
export * from "./driver.js";
