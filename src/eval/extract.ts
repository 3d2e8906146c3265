/**
 * Embedding extraction: runs a model over a split of a CLIBD HDF5 file (eval
 * transforms, file order) and returns its L2-normalised embeddings per modality,
 * labels and ids — the `FeatureSplit` the evaluation protocol scores.
 * @module
 */
import type { ClibdModel } from "../models/clibd.ts";
import { DataLoader } from "../data/loader.ts";
import { batchToDevice } from "../data/to_device.ts";
import type { Hdf5File } from "../data/hdf5.ts";
import type { DnaTokenizerOptions } from "../data/dna.ts";
import { LEVELS, type Taxonomy } from "../data/taxonomy.ts";
import type { FeatureSplit } from "./protocol.ts";

/** Data options for extraction (sizes must match the model's config). */
export interface ExtractOptions {
  file: string | Hdf5File;
  split: string;
  /** Rows per forward. */
  batchSize: number;
  resize: number;
  crop: number;
  dna: DnaTokenizerOptions;
  /** Decode workers (default: the loader's). */
  workers?: number;
  /** Only the first `limit` records. */
  limit?: number;
  /** Called after each batch with records done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Embeds every record of a split with each tower the model has. */
export async function extractSplit(model: ClibdModel, o: ExtractOptions): Promise<FeatureSplit> {
  const be = model.be;
  const want = { image: !!model.image, dna: !!model.dna, text: !!model.text };
  const loader = await DataLoader.create({
    file: o.file,
    split: o.split,
    batchSize: o.batchSize,
    shuffle: "none",
    mode: "eval",
    resize: o.resize,
    crop: o.crop,
    images: want.image,
    dna: o.dna,
    workers: o.workers,
    limit: o.limit,
  });
  const parts: Record<"image" | "dna" | "text", Float32Array[]> = { image: [], dna: [], text: [] };
  const labels: Taxonomy[] = [], ids: string[] = [];
  let dim = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const embs = be.tidy(() => {
        const inp = batchToDevice(be, batch, want);
        return {
          image: inp.images ? model.embedImages(inp.images) : null,
          dna: inp.dna ? model.embedDna(inp.dna) : null,
          text: inp.text ? model.embedText(inp.text) : null,
        };
      });
      for (const m of ["image", "dna", "text"] as const) {
        const t = embs[m];
        if (!t) continue;
        dim = t.shape[1];
        parts[m].push(Float32Array.from(await be.read(t)));
        be.release(t);
      }
      for (let i = 0; i < batch.size; i++) {
        const t = {} as Taxonomy;
        for (const l of LEVELS) t[l] = batch.labels[l][i];
        labels.push(t);
        ids.push(batch.ids[i]);
      }
      o.onProgress?.(labels.length, loader.size);
    }
  } finally {
    loader.close();
  }
  const cat = (xs: Float32Array[]) => {
    const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
    let off = 0;
    for (const x of xs) {
      out.set(x, off);
      off += x.length;
    }
    return out;
  };
  const split: FeatureSplit = { features: {}, labels, ids };
  if (want.image) split.features.encoded_image_feature = { data: cat(parts.image), dim };
  if (want.dna) split.features.encoded_dna_feature = { data: cat(parts.dna), dim };
  if (want.text) split.features.encoded_language_feature = { data: cat(parts.text), dim };
  return split;
}
