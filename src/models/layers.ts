/**
 * Glue between the parameter store and the ops: builds the `LinearParams` /
 * `LinearGrads` and LayerNorm argument bundles of a named module, reading the
 * current tensors every call (loadStateDict replaces them).
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { LinearGrads, LinearParams } from "../ops/linear.ts";
import { gradOf, type ParamStore } from "./params.ts";

/** A Linear's values and (possibly empty) gradient buffers. */
export interface LinearRef {
  p: LinearParams;
  g: LinearGrads;
}

/**
 * The nn.Linear at `prefix` (`prefix.weight`, optional `prefix.bias`). With
 * `lora` the LoRA matrices A [r,in], B [out,r] at those keys are added with
 * scale 1 (CLIBD's LoRA has no alpha, spec §2).
 */
export function linearRef(s: ParamStore, prefix: string, lora?: { a: string; b: string }): LinearRef {
  const w = s.get(`${prefix}.weight`);
  const b = s.params.get(`${prefix}.bias`);
  const p: LinearParams = { weight: w.value, bias: b?.value };
  const g: LinearGrads = { weight: gradOf(w), bias: gradOf(b) };
  if (lora) {
    const a = s.get(lora.a), bb = s.get(lora.b);
    p.loraA = a.value;
    p.loraB = bb.value;
    p.loraScale = 1;
    g.loraA = gradOf(a);
    g.loraB = gradOf(bb);
  }
  return { p, g };
}

/** A LayerNorm's values and (possibly empty) gradient buffers. */
export interface LayerNormRef {
  gamma: Tensor;
  beta: Tensor;
  g: { gamma?: Tensor; beta?: Tensor };
  /** True when either gradient buffer exists (so its backward must run even if dx is unused). */
  trained: boolean;
}

/** The nn.LayerNorm at `prefix`. */
export function layerNormRef(s: ParamStore, prefix: string): LayerNormRef {
  const w = s.get(`${prefix}.weight`), b = s.get(`${prefix}.bias`);
  const g = { gamma: gradOf(w), beta: gradOf(b) };
  return { gamma: w.value, beta: b.value, g, trained: g.gamma !== undefined || g.beta !== undefined };
}

/** True when any LinearGrads buffer is present. */
export function linearTrained(r: LinearRef): boolean {
  return Object.values(r.g).some((t) => t !== undefined);
}

/** True when any parameter whose key starts with `prefix` has a gradient buffer. */
export function anyTrained(s: ParamStore, prefix: string): boolean {
  for (const p of s.params.values()) if (p.grad && p.name.startsWith(prefix)) return true;
  return false;
}

/**
 * Index of the first layer (0-based) that has a trained parameter; -1 when the
 * embeddings below layer 0 are trained; `layers` when nothing is. The backward
 * only has to run down to this layer, and needs d(input) only above it.
 */
export function firstTrainedLayer(
  s: ParamStore,
  embeddingPrefixes: string[],
  layerPrefix: (i: number) => string,
  layers: number,
): number {
  if (embeddingPrefixes.some((p) => anyTrained(s, p))) return -1;
  for (let i = 0; i < layers; i++) if (anyTrained(s, layerPrefix(i))) return i;
  return layers;
}
