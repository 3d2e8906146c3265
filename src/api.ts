/**
 * The library's front door: load a CLIBD model from a run config and/or a checkpoint,
 * and embed raw inputs (JPEG bytes, barcode strings, taxonomy labels) with CLIBD's
 * exact preprocessing. Everything returned is a plain host array.
 * @module
 */
import type { Backend } from "./tensor.ts";
import { CpuBackend } from "./cpu_backend.ts";
import { GpuBackend } from "./gpu/gpu_backend.ts";
import type { RunConfig } from "./config/schema.ts";
import { resolveConfig } from "./config/load.ts";
import { modelConfigFrom } from "./config/derived.ts";
import type { ClibdModel } from "./models/clibd.ts";
import { loadClibdModel } from "./models/load.ts";
import { decodeAndTransform } from "./data/image/transforms.ts";
import { tokenizeDnaBatch } from "./data/dna.ts";
import { TextTokenizer } from "./data/text.ts";
import { normaliseLabel, type Taxonomy, taxonomyString } from "./data/taxonomy.ts";

/** A loaded model together with the preprocessing its inputs need. */
export interface LoadedModel {
  /** The model (its `be` is the backend it runs on). */
  model: ClibdModel;
  /** The resolved run config (architecture, preprocessing sizes). */
  config: RunConfig;
  /** Frees the model's buffers. */
  release(): void;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Run-config YAML (default: the bundled demo config, configs/demo_tiny.yaml). */
  config?: string;
  /** `--set`-style overrides, e.g. `["output_dim=768"]`. */
  overrides?: string[];
  /** CLIBD checkpoint (our safetensors or the original best.pth); none = random heads/baseline. */
  checkpoint?: string;
  /** "gpu" (default, WebGPU) or "cpu" (TypeScript reference), or a backend instance. */
  backend?: "gpu" | "cpu" | Backend;
}

/** Loads a CLIBD model for inference (LoRA merged into the base weights). */
export async function loadModel(opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const { config } = await resolveConfig(opts.config ?? null, opts.overrides ?? []);
  const be = typeof opts.backend === "object"
    ? opts.backend
    : opts.backend === "cpu"
    ? new CpuBackend()
    : await GpuBackend.create();
  const model = await loadClibdModel(be, modelConfigFrom(config), {
    checkpoint: opts.checkpoint,
    seed: config.seed,
  });
  model.mergeLora();
  return { model, config, release: () => model.release() };
}

/** Row-major embeddings: `rows` x `dim`, L2-normalised. */
export interface Embeddings {
  /** Embeddings, row-major [rows, dim], each row of unit L2 norm. */
  data: Float32Array;
  /** Number of inputs embedded. */
  rows: number;
  /** Embedding width (the model's output_dim). */
  dim: number;
}

async function readEmbeddings(be: Backend, run: () => import("./tensor.ts").Tensor): Promise<Embeddings> {
  const t = be.tidy(run);
  const data = Float32Array.from(await be.read(t));
  be.release(t);
  return { data, rows: t.shape[0], dim: t.shape[1] };
}

/** Embeds JPEG images (bytes) with CLIBD's eval transform (resize, centre crop, [0, 1], no mean/std). */
export async function embedImages(m: LoadedModel, jpegs: readonly Uint8Array[]): Promise<Embeddings> {
  const d = m.config.data, crop = d.image_crop;
  const pixels = new Float32Array(jpegs.length * 3 * crop * crop);
  for (let i = 0; i < jpegs.length; i++) {
    pixels.set(
      await decodeAndTransform(jpegs[i], { mode: "eval", resize: d.image_resize, crop }),
      i * 3 * crop * crop,
    );
  }
  const be = m.model.be;
  return await readEmbeddings(
    be,
    () => m.model.embedImages(be.tensor(pixels, [jpegs.length, 3, crop, crop])),
  );
}

/** Embeds DNA barcodes (CLIBD's k-mer tokenizer: pad/truncate with N, non-ACGT k-mers -> <UNK>). */
export async function embedBarcodes(m: LoadedModel, barcodes: readonly string[]): Promise<Embeddings> {
  const d = m.config.data;
  const ids = tokenizeDnaBatch(barcodes, { k: d.dna_k, maxLen: d.dna_max_len });
  const be = m.model.be;
  return await readEmbeddings(
    be,
    () => m.model.embedDna(be.tensor(ids, [barcodes.length, ids.length / barcodes.length], "i32")),
  );
}

let tokenizer: Promise<TextTokenizer> | undefined;

/**
 * Embeds taxonomy labels: each item is either the text itself or the four levels
 * (missing levels become `not_classified`, as CLIBD builds its text).
 */
export async function embedTaxonomy(
  m: LoadedModel,
  items: readonly (string | Partial<Taxonomy>)[],
): Promise<Embeddings> {
  const tok = await (tokenizer ??= TextTokenizer.fromVocabFile());
  const texts = items.map((x) =>
    typeof x === "string" ? x : taxonomyString({
      order: normaliseLabel(x.order),
      family: normaliseLabel(x.family),
      genus: normaliseLabel(x.genus),
      species: normaliseLabel(x.species),
    })
  );
  const t = tok.encodeBatch(texts);
  const B = texts.length, T = t.inputIds.length / B;
  const be = m.model.be;
  return await readEmbeddings(be, () =>
    m.model.embedText({
      inputIds: be.tensor(t.inputIds, [B, T], "i32"),
      tokenTypeIds: be.tensor(t.tokenTypeIds, [B, T], "i32"),
      attentionMask: be.tensor(Float32Array.from(t.attentionMask), [B, T]),
    }));
}
