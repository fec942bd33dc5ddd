/**
 * Progress for long work: a redrawn bar on a terminal, plain periodic lines otherwise (CI logs, `> file`).
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Seconds between plain lines when not on a TTY. */
  plainEvery?: number;
  stream?: NodeJS.WriteStream;
  /** Disable all output (tests, --quiet). */
  quiet?: boolean;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

export class Progress {
  private readonly o: Required<Omit<ProgressOptions, "stream">> & { stream: NodeJS.WriteStream };
  private readonly t0 = Date.now();
  private lastPlain = 0;
  private startDone = 0;
  private readonly tty: boolean;

  constructor(opts: ProgressOptions) {
    this.o = { plainEvery: 10, quiet: false, stream: process.stderr, ...opts };
    this.tty = !!this.o.stream.isTTY && !process.env.CI;
  }

  /** Marks where a resumed run started, so the ETA uses only this session's rate. */
  resumeAt(done: number): void {
    this.startDone = done;
  }

  update(done: number, info: Record<string, string | number> = {}): void {
    if (this.o.quiet) return;
    const now = Date.now();
    const el = (now - this.t0) / 1000;
    const rate = (done - this.startDone) / Math.max(el, 1e-9);
    const eta = rate > 0 ? (this.o.total - done) / rate : Infinity;
    const fields = Object.entries(info).map(([k, v]) => `${k} ${typeof v === "number" ? fmtNum(v) : v}`).join("  ");
    if (this.tty) {
      const width = 24, filled = Math.round((width * done) / Math.max(1, this.o.total));
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      this.o.stream.write(`\r\x1b[2K${this.o.label} ${bar} ${done}/${this.o.total}  ${fields}  ETA ${fmtTime(eta)}`);
      if (done >= this.o.total) this.o.stream.write("\n");
    } else if (now - this.lastPlain >= this.o.plainEvery * 1000 || done >= this.o.total) {
      this.lastPlain = now;
      this.o.stream.write(`${this.o.label} ${done}/${this.o.total} (${((100 * done) / Math.max(1, this.o.total)).toFixed(0)}%)  ${fields}  elapsed ${fmtTime(el)}  ETA ${fmtTime(eta)}\n`);
    }
  }

  /** A message that should not be overwritten by the bar. */
  log(line: string): void {
    if (this.o.quiet) return;
    this.o.stream.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}

function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(4);
}
