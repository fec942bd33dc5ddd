/** Plots: Vega-Lite spec builders and SVG rendering (vega, no canvas). */
export * from "./render.js";
export * from "./specs.js";
