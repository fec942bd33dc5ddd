/** Reading a JSON file a user pointed us at: one-line errors naming the file. */
import { readFileSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { oneLine } from "./format.js";

export function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${oneLine((e as Error).message)})`);
  }
}
