/**
 * Atomic file writes: a reader (or a `--resume` after a crash) sees either the old file or the complete
 * new one, never a half-written one. We write a temp file in the *same directory* (rename is only
 * atomic within one file system), fsync it so its bytes are on disk before the name points at it, then
 * rename over the target and fsync the directory so the rename itself survives a power cut.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { UserError } from "../util/errors.js";

/** File-system error codes that mean "fix your path/disk", not "nullspace has a bug". */
const USER_FS_CODES = new Set(["ENOENT", "EACCES", "EPERM", "ENOSPC", "EROFS", "EISDIR", "ENOTDIR", "EDQUOT", "ENOTEMPTY", "ENAMETOOLONG"]);

/** Writes all of `bytes` (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/**
 * Creates `path` atomically, letting `write(fd)` fill the temp file (so large files can be streamed
 * without building one big buffer). If `write` throws, or anything before the rename fails, the temp
 * file is removed and an existing `path` is left exactly as it was.
 */
export function withAtomicFile(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, "wx", 0o644); // "wx": never clobber a file we did not create
    created = true;
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already failing; keep the first error */ }
    // Only remove the temp file if we created it (openSync succeeded at some point).
    if (created) try { unlinkSync(tmp); } catch { /* keep the first error */ }
    throw asUserError(err, path);
  }
  fsyncDir(dirname(path));
}

/** Atomically replaces `path` with `data` (a string is written as UTF-8). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  withAtomicFile(path, (fd) => writeAll(fd, bytes));
}

/** Atomically writes `obj` as pretty JSON with a trailing newline (config.json, state.json, results). */
export function writeJsonAtomic(path: string, obj: unknown): void {
  const text = JSON.stringify(obj, null, 2);
  if (text === undefined) throw new TypeError(`writeJsonAtomic(${path}): value is not JSON-serialisable`);
  writeFileAtomic(path, text + "\n");
}

/** Best effort: some platforms (Windows) cannot open or fsync a directory, and durability there is moot. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    /* ignore */
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* ignore */ }
  }
}

/** Turns "no such directory / disk full / read-only" into a one-line UserError; other errors pass through. */
function asUserError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === "string" && USER_FS_CODES.has(code)) {
    return new UserError(`cannot write ${path}: ${code} (${describe(code)})`);
  }
  return err;
}

function describe(code: string): string {
  switch (code) {
    case "ENOENT": return "directory does not exist";
    case "EACCES": case "EPERM": return "permission denied";
    case "ENOSPC": case "EDQUOT": return "no space left";
    case "EROFS": return "read-only file system";
    case "EISDIR": case "ENOTEMPTY": return "a directory is in the way";
    case "ENOTDIR": return "a path component is not a directory";
    default: return "file name too long";
  }
}
