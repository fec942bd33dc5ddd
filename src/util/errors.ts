/**
 * Errors that are the user's to fix (bad file, bad flag, bad field). The CLI prints them as one line
 * and exits non-zero; anything else is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Throws a UserError unless `cond` holds. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new UserError(typeof message === "function" ? message() : message);
}
