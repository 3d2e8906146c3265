/**
 * The parameter store: every weight of a CLIBD model under its canonical
 * checkpoint key (spec §9.3), with its gradient buffer and the group that says
 * in which training mode it is trained.
 *
 * Groups: "full" params (pretrained backbone weights) are trained only in full
 * fine-tuning; "lora" params (LoRA A/B, the new heads, logit_scale) are trained
 * in both full and LoRA mode; "frozen" params (the unused BERT pooler and
 * `cls.predictions.bias`) never get a gradient, like in PyTorch, where AdamW then
 * skips them entirely (spec §11).
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { type HostTensor, type StateDict, toFloat32 } from "../io/host_tensor.ts";
import { Rng } from "../util/rng.ts";

/** The widest training mode in which a parameter is still trained ("frozen": never). */
export type ParamGroup = "full" | "lora" | "frozen";

/** How a tower is trained: all of it, LoRA + heads only, or not at all. */
export type TrainMode = "full" | "lora" | "frozen";

/** One parameter. `grad` is null when it is not trained in the current mode (no buffer, no kernels). */
export interface Param {
  /** Canonical checkpoint key. */
  readonly name: string;
  /** Shape in the checkpoint (PyTorch's shape; `[]` for the scalar logit_scale). */
  readonly shape: readonly number[];
  /** Trained in which modes. */
  readonly group: ParamGroup;
  /** Current value (a scalar is held as a [1] tensor). */
  value: Tensor;
  /** Accumulated gradient, same shape as value, or null when not trained. */
  grad: Tensor | null;
}

/** Whether a parameter of `group` is trained when its tower runs in `mode`. */
export function isTrained(group: ParamGroup, mode: TrainMode): boolean {
  if (group === "frozen" || mode === "frozen") return false;
  return mode === "full" || group === "lora";
}

/** Options for {@link ParamStore.loadStateDict}. */
export interface LoadOptions {
  /** Throw on missing or unexpected keys (default true). Shape mismatches always throw. */
  strict?: boolean;
}

/** What a non-strict load skipped. */
export interface LoadReport {
  /** Expected keys absent from the state dict. */
  missing: string[];
  /** State-dict keys that match no parameter. */
  unexpected: string[];
}

/** Buffers in checkpoints that are not parameters (HF's position_ids). */
function isIgnorableBuffer(key: string): boolean {
  return key.endsWith("embeddings.position_ids");
}

/** Name -> parameter, in creation order (which is PyTorch's state-dict order). */
export class ParamStore {
  /** All parameters by canonical key. */
  readonly params: Map<string, Param> = new Map();
  /** An empty store whose tensors live on `be`. */
  constructor(readonly be: Backend) {}

  /** Registers a parameter initialised with `init` (length = numel(shape)). */
  add(name: string, shape: readonly number[], group: ParamGroup, init: Float32Array): Param {
    if (this.params.has(name)) throw new Error(`ParamStore: duplicate parameter ${name}`);
    const value = this.be.tensor(init, shape.length ? shape : [1]);
    this.be.keep(value);
    const p: Param = { name, shape: [...shape], group, value, grad: null };
    this.params.set(name, p);
    return p;
  }

  /** The parameter with this key; throws naming the key when absent. */
  get(name: string): Param {
    const p = this.params.get(name);
    if (!p) throw new Error(`ParamStore: no parameter ${name}`);
    return p;
  }

  /** Whether a parameter exists. */
  has(name: string): boolean {
    return this.params.has(name);
  }

  /**
   * Sets the training mode of every parameter whose key starts with `prefix`:
   * allocates zeroed gradient buffers for those now trained, frees the others.
   */
  setMode(prefix: string, mode: TrainMode): void {
    for (const p of this.params.values()) {
      if (!p.name.startsWith(prefix)) continue;
      const trained = isTrained(p.group, mode);
      if (trained && !p.grad) p.grad = this.be.keep(this.be.zeros(p.value.shape));
      if (!trained && p.grad) {
        this.be.release(p.grad);
        p.grad = null;
      }
    }
  }

  /** Parameters that currently have a gradient buffer. */
  trainable(): Param[] {
    return [...this.params.values()].filter((p) => p.grad !== null);
  }

  /** Resets every gradient buffer to zero. */
  zeroGrad(): void {
    for (const p of this.params.values()) {
      if (!p.grad) continue;
      this.be.release(p.grad);
      p.grad = this.be.keep(this.be.zeros(p.value.shape));
    }
  }

  /**
   * Copies values from a canonical state dict (keys already mapped by src/io/keymap.ts).
   * Every shape is checked and a mismatch throws naming the key. Floating dtypes
   * (f64/f32/f16/bf16) are converted; f64 keeps full precision on an f64 CPU backend.
   */
  loadStateDict(sd: StateDict, opts: LoadOptions = {}): LoadReport {
    const strict = opts.strict ?? true;
    const missing = [...this.params.keys()].filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !this.params.has(k) && !isIgnorableBuffer(k));
    if (strict && (missing.length || unexpected.length)) {
      throw new Error(
        `loadStateDict: ${missing.length} missing key(s) [${missing.slice(0, 8).join(", ")}], ` +
          `${unexpected.length} unexpected key(s) [${unexpected.slice(0, 8).join(", ")}]`,
      );
    }
    for (const [key, host] of sd) {
      const p = this.params.get(key);
      if (!p) continue;
      checkShape(key, p.shape, host);
      const data = host.dtype === "f64" || host.dtype === "f32"
        ? host.data as Float64Array | Float32Array
        : host.dtype === "f16" || host.dtype === "bf16"
        ? toFloat32(host).data as Float32Array
        : null;
      if (!data) throw new Error(`loadStateDict: ${key} has dtype ${host.dtype}, expected a float type`);
      const fresh = this.be.keep(this.be.tensor(data, p.value.shape));
      this.be.release(p.value);
      p.value = fresh;
    }
    return { missing, unexpected };
  }

  /** The values as a canonical f32 state dict (a sync point on the GPU). */
  async stateDict(): Promise<StateDict> {
    const out: StateDict = new Map();
    for (const p of this.params.values()) {
      const host = await this.be.read(p.value);
      out.set(p.name, { shape: [...p.shape], dtype: "f32", data: Float32Array.from(host) });
    }
    return out;
  }

  /** Frees every value and gradient buffer. */
  release(): void {
    for (const p of this.params.values()) {
      this.be.release(p.value);
      if (p.grad) this.be.release(p.grad);
      p.grad = null;
    }
  }
}

function checkShape(key: string, want: readonly number[], host: HostTensor): void {
  const same = want.length === host.shape.length && want.every((d, i) => d === host.shape[i]);
  // A PyTorch scalar may arrive as [] or [1].
  const scalarOk = want.length === 0 && host.shape.length <= 1 && host.data.length === 1;
  if (!same && !scalarOk) {
    throw new Error(`loadStateDict: ${key} has shape [${host.shape}], the model expects [${want}]`);
  }
}

/**
 * PyTorch-default initialisers. nn.Linear/nn.Conv2d weights use
 * kaiming_uniform(a=sqrt 5), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)); biases
 * use the same bound; LayerNorm is (1, 0); nn.Embedding is N(0, 1) with the
 * padding row zeroed. LoRA A uses the Linear rule and B is zero (zero initial delta).
 */
export class Init {
  readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  /** U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for n values (Linear/Conv weight and bias). */
  kaiming(n: number, fanIn: number): Float32Array {
    const b = 1 / Math.sqrt(fanIn);
    return this.rng.uniformArray(n, -b, b);
  }
  /** Constant fill. */
  fill(n: number, v: number): Float32Array {
    return new Float32Array(n).fill(v);
  }
  /** N(0, std^2), optionally with row `paddingRow` (of width `cols`) zeroed. */
  normal(n: number, std: number, paddingRow?: number, cols = 0): Float32Array {
    const a = this.rng.normalArray(n, std);
    if (paddingRow !== undefined) a.fill(0, paddingRow * cols, (paddingRow + 1) * cols);
    return a;
  }
}

/** Registers an nn.Linear (weight [out,in], optional bias [out]) under `prefix`. */
export function addLinear(
  s: ParamStore,
  init: Init,
  prefix: string,
  out: number,
  inp: number,
  group: ParamGroup,
  bias = true,
): void {
  s.add(`${prefix}.weight`, [out, inp], group, init.kaiming(out * inp, inp));
  if (bias) s.add(`${prefix}.bias`, [out], group, init.kaiming(out, inp));
}

/** Registers an nn.LayerNorm (weight = 1, bias = 0) under `prefix`. */
export function addLayerNorm(s: ParamStore, init: Init, prefix: string, c: number, group: ParamGroup): void {
  s.add(`${prefix}.weight`, [c], group, init.fill(c, 1));
  s.add(`${prefix}.bias`, [c], group, init.fill(c, 0));
}

/** The gradient buffer of a parameter, or undefined when it is not trained (for LinearGrads). */
export function gradOf(p: Param | undefined): Tensor | undefined {
  return p?.grad ?? undefined;
}
