/**
 * What the three encoders have in common: the tower interface the CLIBD model
 * and the trainer use, and the shared last step, L2 normalisation
 * (SimpleCLIP's F.normalize, spec §1.1), with its backward.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { l2Normalize, l2NormalizeBackward } from "../ops/normalize.ts";
import type { TrainMode } from "./params.ts";
import type { ActivationRecord } from "./record.ts";

/** Options of a tower's forward. */
export interface ForwardOptions {
  /**
   * Training forward (default false: inference, nothing kept, no dropout): applies the tower's dropout
   * (BERT towers; the ViT has none) and saves activations for backward unless `record` is false.
   */
  train?: boolean;
  /**
   * With `train`: keep the activations for backward (default true). `false` gives the training-mode
   * embedding (same dropout masks) without keeping anything, for the gradient cache's embedding pass.
   */
  record?: boolean;
  /**
   * Per-step dropout seed (u32; default 0, deterministic). Each dropout site and layer derives its own
   * mask seed from it; a backward regenerates the forward's masks from the saved seed.
   */
  dropoutSeed?: number;
  /**
   * Batch index of this input's first row within the step's batch (default 0). Dropout masks are a
   * function of the global row, so a gradient-cache chunk sees the masks the full batch would.
   */
  rowOffset?: number;
}

/** Whether a forward with these options keeps activations. */
export function recordsActivations(opts: ForwardOptions): boolean {
  return opts.train === true && opts.record !== false;
}

/** LayerNorm outputs kept for the backward: y [N,C], and the per-row mean and 1/std [N]. */
export interface LnSaved {
  /** Normalised, scaled and shifted output [N,C]. */
  y: Tensor;
  /** Row means [N]. */
  mean: Tensor;
  /** Row reciprocal standard deviations 1/sqrt(var + eps) [N]. */
  rstd: Tensor;
}

/** The saved L2-normalisation step: raw [B,D] -> emb [B,D]. */
export interface NormSaved {
  /** Pooled features before normalisation [B,D]. */
  raw: Tensor;
  /** Normalised embeddings [B,D]. */
  emb: Tensor;
  /** Row L2 norms [B]. */
  norm: Tensor;
}

/** Anything a tower's backward needs; owns its tensors through `rec`. */
export interface TowerActivations {
  /** Owns every saved tensor. */
  rec: ActivationRecord;
  /** The final L2 normalisation. */
  out: NormSaved;
}

/** Result of a forward: the L2-normalised embedding and, in training, the activations. */
export interface TowerForward<A extends TowerActivations> {
  /**
   * L2-normalised embeddings [B, outputDim]. In training the record owns this tensor: it stays valid
   * until `backward` (or `act.rec.release()`), which frees it. In inference the caller owns it.
   */
  emb: Tensor;
  /** Saved activations in training, null in inference. */
  act: A | null;
}

/** One encoder tower (image, DNA or text). */
export interface Tower<I, A extends TowerActivations> {
  /** Which tower. */
  readonly kind: "image" | "dna" | "text";
  /** Canonical key prefix of its parameters (e.g. "image_encoder."). */
  readonly prefix: string;
  /** Forward; with `{ train: true }` dropout is applied and the activations for {@link backward} are kept. */
  forward(input: I, opts?: ForwardOptions): TowerForward<A>;
  /** Inference forward that keeps nothing; returns L2-normalised embeddings owned by the caller. */
  embed(input: I): Tensor;
  /**
   * Backward from d(loss)/d(normalised embedding) [B,D]: accumulates into the gradient buffers of
   * the parameters trained in the current mode, then releases the activation record.
   */
  backward(act: A, dEmb: Tensor): void;
  /** Sets which of its parameters get gradients. */
  setTrainMode(mode: TrainMode): void;
  /** Folds LoRA into the base weights for inference (forward with `train` is refused while merged). */
  mergeLora(): void;
  /** Undoes {@link mergeLora}. */
  unmergeLora(): void;
  /** True while LoRA is merged into the base weights. */
  readonly merged: boolean;
}

/** L2-normalises raw embeddings; saves the step in `rec` when training. */
export function normalizeOut(be: Backend, raw: Tensor, rec: ActivationRecord | null): NormSaved {
  const { y, norm } = l2Normalize(be, raw);
  const out = { raw, emb: y, norm };
  if (rec) rec.saveTree(out);
  return out;
}

/** d(raw) from d(normalised embedding). */
export function normalizeBackward(be: Backend, s: NormSaved, dEmb: Tensor): Tensor {
  return l2NormalizeBackward(be, dEmb, s.raw, s.emb, s.norm);
}
