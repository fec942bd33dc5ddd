/**
 * Tensor = shape + Float32Array, and the reverse-mode tape that records coarse ops.
 *
 * The tape is process-global (like PyTorch's autograd): an op records a backward closure only when one of its
 * inputs requires a gradient and recording is enabled (see `noGrad`). `backward(loss)` replays the closures in
 * reverse order and clears the tape. Gradients are allocated lazily and accumulated (+=), so a tensor used twice
 * gets the sum.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  data: Float32Array;
  grad: Float32Array | null = null;
  requiresGrad: boolean;
  /** Created inside a step arena: its gradient may come from the pool too. */
  private readonly shortLived: boolean;

  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new RangeError(`Tensor: data length ${data.length} != product of shape [${shape.join(", ")}]`);
    this.data = data;
    this.shape = shape.slice();
    this.size = size;
    this.requiresGrad = requiresGrad;
    this.shortLived = inArena();
  }

  /** The gradient buffer, allocated (zeros) on first use. */
  gradBuffer(): Float32Array {
    if (!this.grad) this.grad = this.shortLived ? alloc(this.size) : fresh(this.size);
    return this.grad;
  }

  zeroGrad(): void {
    if (this.grad) this.grad.fill(0);
  }

  /** Scalar value of a 1-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item() on a tensor of shape [${this.shape.join(", ")}]`);
    return this.data[0];
  }

  /** Same data under another shape (a view: no copy, no tape node needed since grads share layout). */
  reshape(shape: readonly number[]): Tensor {
    const t = new Tensor(this.data, shape, false);
    if (this.requiresGrad && isRecording()) {
      t.requiresGrad = true;
      record(() => {
        if (t.grad) {
          const g = this.gradBuffer();
          for (let i = 0; i < g.length; i++) g[i] += t.grad[i];
        }
      });
    }
    return t;
  }

  /** A detached copy of the data. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** Nested JS arrays (for JSON output). */
  toNested(): unknown {
    const rec = (off: number, dim: number): unknown => {
      if (dim === this.shape.length) return this.data[off];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(rec(off + i * stride, dim + 1));
      return out;
    };
    return rec(0, 0);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Storage. Everything allocates through alloc() so that tests can run the whole engine in float64 (js backend
// only): typed-array code is agnostic of the element type, which makes float64 finite-difference checks exact.

let float64Mode = false;

/**
 * Step arenas. Freshly allocated typed arrays cost page faults on first touch, which dominated a training step
 * (a 6 MB activation: ~4 ms of faults vs ~1 ms of compute). Inside `withArena`, buffers come from a pool of
 * same-sized arrays released by the previous arena, so a training step reuses the previous step's memory.
 * Only tensors created inside the arena use it (their data and grads); parameters and other long-lived tensors
 * are created outside and keep their own memory.
 */
let arena: Float32Array[] | null = null;
let arenaGen = 0;
const pool = new Map<number, { free: Float32Array[]; lastGen: number }>();

function fresh(n: number): Float32Array {
  return float64Mode ? (new Float64Array(n) as unknown as Float32Array) : new Float32Array(n);
}

/** A zeroed buffer of n elements (Float32Array; Float64Array inside withFloat64). */
export function alloc(n: number): Float32Array {
  if (!arena || float64Mode) return fresh(n);
  const entry = pool.get(n);
  let buf = entry?.free.pop();
  if (buf) buf.fill(0);
  else buf = new Float32Array(n);
  if (entry) entry.lastGen = arenaGen;
  else pool.set(n, { free: [], lastGen: arenaGen });
  arena.push(buf);
  return buf;
}

/** True while an arena is open (tensors made now are short-lived). */
export function inArena(): boolean {
  return arena !== null;
}

/**
 * Runs fn with pooled allocation. Every buffer allocated inside is returned to the pool when fn returns, so
 * nothing created inside may be used afterwards: read scalars (loss.item()) before leaving.
 */
export function withArena<T>(fn: () => T): T {
  if (arena) return fn();
  arena = [];
  arenaGen++;
  try {
    return fn();
  } finally {
    for (const b of arena) pool.get(b.length)!.free.push(b);
    arena = null;
    // Sizes unused for a few steps (variable sequence lengths) are dropped so the pool stays one step's worth.
    for (const [n, e] of pool) if (arenaGen - e.lastGen > 4) pool.delete(n);
  }
}

/** Runs fn with float64 storage. The caller must select the js backend (native kernels are float32-only). */
export function withFloat64<T>(fn: () => T): T {
  const prev = float64Mode;
  float64Mode = true;
  try {
    return fn();
  } finally {
    float64Mode = prev;
  }
}

export function zeros(shape: readonly number[], requiresGrad = false): Tensor {
  return new Tensor(alloc(shape.reduce((a, b) => a * b, 1)), shape, requiresGrad);
}

export function fromArray(values: ArrayLike<number>, shape?: readonly number[], requiresGrad = false): Tensor {
  const data = alloc(values.length);
  for (let i = 0; i < values.length; i++) data[i] = values[i];
  return new Tensor(data, shape ?? [values.length], requiresGrad);
}

// ---------------------------------------------------------------------------------------------------------
// The tape.

type BackwardFn = () => void;
let tape: BackwardFn[] = [];
let recordingDepth = 0; // > 0 inside noGrad()

export function isRecording(): boolean {
  return recordingDepth === 0;
}

/** Appends a backward closure; ops call this only when an input requires grad. */
export function record(fn: BackwardFn): void {
  tape.push(fn);
}

/** True when an op over these inputs must record a backward closure. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (recordingDepth > 0) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Runs fn without recording (evaluation, reference models). */
export function noGrad<T>(fn: () => T): T {
  recordingDepth++;
  try {
    return fn();
  } finally {
    recordingDepth--;
  }
}

/** Drops recorded ops without running them (after an aborted forward pass). */
export function clearTape(): void {
  tape = [];
}

/** Number of recorded ops (for tests and leak checks). */
export function tapeLength(): number {
  return tape.length;
}

/**
 * Back-propagates from `root` (seeded with ones, or with `seed` for a non-scalar root) through every op recorded
 * since the last backward/clearTape, then clears the tape.
 */
export function backward(root: Tensor, seed?: Float32Array): void {
  if (!root.requiresGrad) throw new Error("backward(): the root does not require grad (was it computed under noGrad?)");
  const g = root.gradBuffer();
  if (seed) {
    if (seed.length !== root.size) throw new RangeError("backward(): seed size mismatch");
    for (let i = 0; i < g.length; i++) g[i] += seed[i];
  } else for (let i = 0; i < g.length; i++) g[i] += 1;
  const ops = tape;
  tape = [];
  for (let i = ops.length - 1; i >= 0; i--) ops[i]();
}
