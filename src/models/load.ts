/**
 * Building a CLIBD model from an architecture config and checkpoints: a whole CLIBD
 * checkpoint (`best.pth` from the original, or our safetensors), and/or pretrained
 * weights per tower (timm ViT, BarcodeBERT, HF BERT), which leave the new heads at
 * their random initialisation as CLIBD does.
 * @module
 */
import type { Backend } from "../tensor.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { detectLayout, type SourceLayout, toCanonical } from "../io/keymap.ts";
import type { StateDict } from "../io/host_tensor.ts";
import { type ClibdModel, createClibdModel } from "./clibd.ts";
import type { ClibdConfig } from "./config.ts";

/** Where weights come from. */
export interface ModelSources {
  /** A CLIBD checkpoint with all towers (strict: every parameter must be present). */
  checkpoint?: string;
  /** Pretrained backbone weights per tower (loaded non-strictly into that tower). */
  towers?: { image?: string; dna?: string; text?: string };
  /** Seed of the random initialisation (heads, and everything when nothing is loaded). */
  seed?: number;
}

const TOWER_LAYOUT: Record<"image" | "dna" | "text", SourceLayout> = {
  image: "timm_vit",
  dna: "barcodebert",
  text: "hf_bert_text",
};
const TOWER_PREFIX = { image: "image_encoder.", dna: "dna_encoder.", text: "language_encoder." };

async function canonical(path: string, fallback: SourceLayout): Promise<StateDict> {
  const c = await loadCheckpoint(path, { float32: true });
  // A training checkpoint (last.safetensors) also holds AdamW moments under `optim.`.
  const sd: StateDict = new Map([...c.stateDict].filter(([k]) => !k.startsWith("optim.")));
  const layout = detectLayout(sd.keys()) ?? fallback;
  return toCanonical(sd, layout).stateDict;
}

/** Creates the model and loads the given weights; errors name the file and the key. */
export async function loadClibdModel(
  be: Backend,
  config: ClibdConfig,
  src: ModelSources = {},
): Promise<ClibdModel> {
  const model = createClibdModel(be, config, { seed: src.seed ?? 42 });
  try {
    for (const m of ["image", "dna", "text"] as const) {
      const path = src.towers?.[m];
      if (!path) continue;
      if (!model[m]) throw new Error(`a ${m} checkpoint was given but the config has no ${m} tower`);
      const sd = await canonical(path, TOWER_LAYOUT[m]);
      const mine = new Map([...sd].filter(([k]) => k.startsWith(TOWER_PREFIX[m])));
      if (mine.size === 0) {
        throw new Error(
          `${path}: no ${m}-tower weights found (keys look like ${[...sd.keys()].slice(0, 3).join(", ")})`,
        );
      }
      try {
        model.loadStateDict(mine, { strict: false });
      } catch (e) {
        throw new Error(`${path}: ${(e as Error).message}`);
      }
    }
    if (src.checkpoint) {
      const sd = await canonical(src.checkpoint, "clibd");
      try {
        model.loadStateDict(sd, { strict: true });
      } catch (e) {
        throw new Error(`${src.checkpoint}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    model.release();
    throw e;
  }
  return model;
}
