/**
 * The CPU reference backend: tensors are typed arrays and ops run in TypeScript.
 * With `precision: 64` f32 tensors are stored as Float64Array, which the
 * finite-difference gradient checks use.
 * @module
 */
import {
  type Backend,
  type CpuArray,
  type DType,
  type HostArray,
  numel,
  Tensor,
  TidyTracker,
} from "./tensor.ts";

/** Options for the CPU backend. */
export interface CpuBackendOptions {
  /** Storage precision of f32 tensors: 32 (default, like the GPU) or 64 (gradient checks). */
  precision?: 32 | 64;
}

/** The TypeScript reference backend. */
export class CpuBackend implements Backend {
  readonly kind = "cpu" as const;
  readonly name: string;
  /** Storage precision of f32 tensors. */
  readonly precision: 32 | 64;
  private tracker = new TidyTracker();
  /** Creates a CPU backend; `opts.precision` 64 stores f32 tensors as Float64Array. */
  constructor(opts: CpuBackendOptions = {}) {
    this.precision = opts.precision ?? 32;
    this.name = `cpu (TypeScript reference, f${this.precision})`;
  }
  /** A zero-filled array of `n` elements for `dtype` (f32 as Float32Array or Float64Array by precision). */
  private alloc(n: number, dtype: DType): CpuArray {
    if (dtype === "i32") return new Int32Array(n);
    if (dtype === "u32") return new Uint32Array(n);
    return this.precision === 64 ? new Float64Array(n) : new Float32Array(n);
  }
  tensor(data: HostArray | number[], shape: readonly number[], dtype: DType = "f32"): Tensor {
    const n = numel(shape);
    if (data.length !== n) {
      throw new Error(`tensor: ${data.length} values for shape [${shape}] (${n} elements)`);
    }
    const arr = this.alloc(n, dtype);
    arr.set(data as ArrayLike<number>);
    return this.wrap(arr, shape, dtype);
  }
  zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
    return this.wrap(this.alloc(numel(shape), dtype), shape, dtype);
  }
  empty(shape: readonly number[], dtype: DType = "f32"): Tensor {
    return this.zeros(shape, dtype);
  }
  /** Wraps an array as a tensor of this backend, tracked by the current `tidy` scope. */
  private wrap(arr: CpuArray, shape: readonly number[], dtype: DType): Tensor {
    const t = new Tensor([...shape], dtype, arr, this);
    this.tracker.track(t);
    return t;
  }
  read(t: Tensor): Promise<HostArray> {
    const d = t.data;
    return Promise.resolve(d instanceof Float64Array ? Float32Array.from(d) : d.slice());
  }
  /** Synchronous read of a CPU tensor (f32 tensors come back as Float32Array or Float64Array). */
  readSync(t: Tensor): CpuArray {
    return t.data;
  }
  release(t: Tensor): void {
    t.released = true;
  }
  tidy<T>(fn: () => T): T {
    return this.tracker.run(fn, (t) => this.release(t));
  }
  keep<T extends Tensor>(t: T): T {
    this.tracker.keep(t);
    return t;
  }
  flush(): void {}
  sync(): Promise<void> {
    return Promise.resolve();
  }
}
