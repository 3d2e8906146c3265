/**
 * Decoded batch -> backend tensors: the one place where loader arrays become model
 * inputs (images f32 [B,3,H,W], DNA ids i32 [B,T], text ids/types i32 and the
 * attention mask as f32, which the attention kernels expect).
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { Batch } from "./loader.ts";

/** Model inputs on a backend; a modality is absent when not requested or not in the batch. */
export interface DeviceBatch {
  images?: Tensor;
  dna?: Tensor;
  text?: { inputIds: Tensor; tokenTypeIds: Tensor; attentionMask: Tensor };
}

/** Which inputs to upload. */
export interface Modalities {
  image: boolean;
  dna: boolean;
  text: boolean;
}

/** Uploads the requested modalities of a batch. */
export function batchToDevice(be: Backend, b: Batch, want: Modalities): DeviceBatch {
  const out: DeviceBatch = {};
  const B = b.size;
  if (want.image) {
    if (!b.images) throw new Error("batch has no images but the model has an image tower");
    const px = b.images.length / B;
    const side = Math.round(Math.sqrt(px / 3));
    out.images = be.tensor(b.images, [B, 3, side, side]);
  }
  if (want.dna) out.dna = be.tensor(b.dna, [B, b.dna.length / B], "i32");
  if (want.text) {
    const T = b.text.inputIds.length / B;
    out.text = {
      inputIds: be.tensor(b.text.inputIds, [B, T], "i32"),
      tokenTypeIds: be.tensor(b.text.tokenTypeIds, [B, T], "i32"),
      attentionMask: be.tensor(Float32Array.from(b.text.attentionMask), [B, T]),
    };
  }
  return out;
}
