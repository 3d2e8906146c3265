/**
 * Activation records: the tensors a training forward saves for its backward,
 * llm.c style. Saved tensors are exempted from any enclosing `tidy` so their
 * lifetime is explicit: the backward releases the record when it is done.
 * @module
 */
import { type Backend, Tensor } from "../tensor.ts";

/** Owns the activations of one forward call. */
export class ActivationRecord {
  private owned: Tensor[] = [];
  private released = false;
  /** An empty record whose tensors live on `be`. */
  constructor(readonly be: Backend) {}

  /** Keeps `t` (and the tensor it is a view of) alive until {@link release}. */
  save<T extends Tensor>(t: T): T {
    const base = (t as { viewOf?: Tensor }).viewOf ?? t;
    this.be.keep(base);
    this.owned.push(base);
    return t;
  }

  /** Saves every tensor inside a plain object / array tree (e.g. a layer's saved activations). */
  saveTree(v: unknown): void {
    if (v instanceof Tensor) this.save(v);
    else if (Array.isArray(v)) { for (const x of v) this.saveTree(x); }
    else if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      for (const x of Object.values(v)) this.saveTree(x);
    }
  }

  /** Throws if the record was already consumed (a second backward on the same forward). */
  assertLive(what: string): void {
    if (this.released) {
      throw new Error(`${what}: activation record already released (backward called twice?)`);
    }
  }

  /** Frees every saved tensor. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const t of new Set(this.owned)) this.be.release(t);
    this.owned = [];
  }
}

/** Releases a tensor, or the tensor it is a reshape view of (releasing a view alone is a no-op). */
export function releaseTensor(be: Backend, t: Tensor): void {
  be.release((t as { viewOf?: Tensor }).viewOf ?? t);
}
