/**
 * The tensor type and the backend interface that both the CPU reference and the
 * WebGPU implementation satisfy, so a whole model can run on either.
 *
 * Ops are plain functions in `src/ops/` that take a backend first and dispatch on
 * `backend.kind`; they are synchronous (GPU ops only record commands), and only
 * `read()` and `sync()` wait for the device.
 * @module
 */

/** Element types a tensor can hold. */
export type DType = "f32" | "i32" | "u32";

/** Host-side array types used for upload and read-back. */
export type HostArray = Float32Array | Float64Array | Int32Array | Uint32Array;

/** Storage of a tensor on the CPU backend (f32 tensors may be held in f64 for gradient checks). */
export type CpuArray = Float32Array | Float64Array | Int32Array | Uint32Array;

let nextTensorId = 1;

/** An n-dimensional array living on one backend. */
export class Tensor {
  /** Unique id, for debugging and caches. */
  readonly id: number = nextTensorId++;
  /** Set once the tensor is released back to its backend's pool. */
  released = false;
  /** Wraps backend storage; backends create tensors, user code calls `backend.tensor(...)`. */
  constructor(
    /** Dimensions, outermost first (row-major). */
    readonly shape: readonly number[],
    /** Element type. */
    readonly dtype: DType,
    /** CPU typed array (cpu backend) or GPU buffer (gpu backend). */
    readonly storage: CpuArray | GPUBuffer,
    /** Backend that owns the storage. */
    readonly backend: Backend,
  ) {}
  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }
  /** The CPU array behind the tensor (cpu backend only). */
  get data(): CpuArray {
    if (this.storage instanceof GPUBuffer) throw new Error(`tensor ${this.id} lives on the GPU; use read()`);
    return this.storage;
  }
  /** The GPU buffer behind the tensor (gpu backend only). */
  get buffer(): GPUBuffer {
    if (!(this.storage instanceof GPUBuffer)) throw new Error(`tensor ${this.id} lives on the CPU`);
    return this.storage;
  }
  /** A view with another shape of the same number of elements (shares storage). */
  reshape(shape: readonly number[]): Tensor {
    const n = numel(shape);
    if (n !== this.size) {
      throw new Error(`reshape [${this.shape}] -> [${shape}]: ${this.size} vs ${n} elements`);
    }
    const t = new Tensor(shape, this.dtype, this.storage, this.backend);
    (t as { viewOf?: Tensor }).viewOf = this;
    return t;
  }
}

/** Product of the dimensions. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** What every backend provides besides the ops. */
export interface Backend {
  /** "cpu" for the TypeScript reference, "gpu" for WebGPU. */
  readonly kind: "cpu" | "gpu";
  /** Human-readable name (adapter line on the GPU). */
  readonly name: string;
  /** Creates a tensor holding a copy of `data`. */
  tensor(data: HostArray | number[], shape: readonly number[], dtype?: DType): Tensor;
  /** A zero-filled tensor. */
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  /** A tensor whose contents are undefined (pooled storage). Ops fill their outputs. */
  empty(shape: readonly number[], dtype?: DType): Tensor;
  /** Copies the tensor's contents to the host (a sync point on the GPU). */
  read(t: Tensor): Promise<HostArray>;
  /** Returns the storage to the pool; the tensor must not be used afterwards. */
  release(t: Tensor): void;
  /** Runs `fn`, then releases every tensor created inside it except those reachable from its result or kept. */
  tidy<T>(fn: () => T): T;
  /** Marks a tensor created inside `tidy` as surviving it. */
  keep<T extends Tensor>(t: T): T;
  /** Submits recorded work without waiting. */
  flush(): void;
  /** Waits until all submitted work is done (a sync point). */
  sync(): Promise<void>;
}

/** Tracks tensors created inside nested `tidy` scopes; shared by both backends. */
export class TidyTracker {
  private scopes: Set<Tensor>[] = [];
  private kept = new Set<Tensor>();
  /** Registers a freshly created tensor with the innermost scope. */
  track(t: Tensor): void {
    this.scopes[this.scopes.length - 1]?.add(t);
  }
  /** Exempts a tensor from release at scope end. */
  keep(t: Tensor): void {
    this.kept.add(t);
    for (const s of this.scopes) s.delete(t);
  }
  /** Runs fn in a scope; `release` is called for tensors that do not escape. */
  run<T>(fn: () => T, release: (t: Tensor) => void): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    const escaping = new Set<Tensor>();
    collectTensors(result, escaping, 0);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of scope) {
      if (escaping.has(t) || this.kept.has(t)) {
        parent?.add(t);
        continue;
      }
      if (!t.released) release(t);
    }
    this.kept.clear();
    return result;
  }
}

function collectTensors(v: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || v === null || typeof v !== "object") return;
  if (v instanceof Tensor) {
    out.add(v);
    const base = (v as { viewOf?: Tensor }).viewOf;
    if (base) out.add(base);
    return;
  }
  if (Array.isArray(v)) { for (const x of v) collectTensors(x, out, depth + 1); }
  else if (v instanceof Map) { for (const x of v.values()) collectTensors(x, out, depth + 1); }
  else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collectTensors(x, out, depth + 1);
  }
}

/** Throws a shape error naming the op. */
export function assertShape(op: string, what: string, t: Tensor, shape: readonly (number | null)[]): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    throw new Error(`${op}: ${what} has shape [${t.shape}], expected [${shape.map((d) => d ?? "*")}]`);
  }
}
