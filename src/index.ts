/** Library entry: `import { ... } from "nullspace"`. */
export { UserError } from "./util/errors.js";
