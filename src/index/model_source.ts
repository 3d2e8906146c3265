/**
 * Which model and preprocessing an index is built with: from a run-config YAML (src/config/load.ts)
 * (architecture via src/config/derived.ts) when `--config` is given, else from the JSON config stored in the checkpoint's safetensors
 * metadata (a {@link ClibdConfig}, or a run config with `output_dim` and `data`).
 * @module
 */
import { type ClibdConfig, validateConfig } from "../models/config.ts";
import { checkpointConfig, loadCheckpoint } from "../io/checkpoint.ts";
import type { RunConfig } from "../config/schema.ts";
import { resolveConfig } from "../config/load.ts";
import { modelConfigFrom } from "../config/derived.ts";
import type { Preprocess } from "./manifest.ts";

/** A model architecture plus the preprocessing its inputs need. */
export interface ModelSpec {
  /** The architecture. */
  config: ClibdConfig;
  /** Preprocessing sizes of its inputs. */
  preprocess: Preprocess;
  /** "checkpoint metadata" or the YAML path. */
  source: string;
}

/** Maps a validated run config to the model architecture (src/config/derived.ts) and preprocessing. */
export function specFromRunConfig(rc: RunConfig, source: string): ModelSpec {
  const d = rc.data;
  return {
    config: modelConfigFrom(rc),
    preprocess: {
      imageResize: d.image_resize,
      imageCrop: d.image_crop,
      dnaK: d.dna_k,
      dnaMaxLen: d.dna_max_len,
    },
    source,
  };
}

/**
 * Preprocessing implied by an architecture: crop = image size, resize = round(crop * 256 / 224)
 * (CLIBD's ratio), k from the DNA vocabulary (3 + 4^k), max length = (tokens - 1) * k.
 */
export function defaultPreprocess(c: ClibdConfig): Preprocess {
  const crop = c.image?.imageSize ?? 224;
  let k = 5;
  if (c.dna) {
    k = Math.round(Math.log(c.dna.bert.vocabSize - 3) / Math.log(4));
    if (3 + 4 ** k !== c.dna.bert.vocabSize) {
      throw new Error(`DNA vocabulary ${c.dna.bert.vocabSize} is not 3 + 4^k; give --config with data.dna_k`);
    }
  }
  const tokens = c.dna?.seqLen ?? 133;
  return { imageResize: Math.round(crop * 256 / 224), imageCrop: crop, dnaK: k, dnaMaxLen: (tokens - 1) * k };
}

function looksLikeClibdConfig(v: unknown): v is ClibdConfig {
  if (!v || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  return typeof o.logitScaleInit === "number" &&
    (typeof o.image === "object" || typeof o.dna === "object" || typeof o.text === "object");
}

/**
 * Resolves the model spec: the YAML when given, else the checkpoint's stored config.
 * @throws Error saying what is missing when neither gives an architecture
 */
export async function resolveModelSpec(checkpoint: string, configPath?: string): Promise<ModelSpec> {
  if (configPath) {
    const { config } = await resolveConfig(configPath);
    return specFromRunConfig(config, configPath);
  }
  const ck = await loadCheckpoint(checkpoint);
  let stored = checkpointConfig(ck);
  // Our training runs store { run: <resolved run config>, model: <ClibdConfig>, ... }: the run
  // config's data section gives the exact preprocessing the model was trained with.
  const run = (stored as { run?: { data?: RunConfig["data"] } } | undefined)?.run?.data;
  if (stored && typeof stored === "object" && "model" in stored && looksLikeClibdConfig(stored.model)) {
    stored = stored.model;
    if (run && looksLikeClibdConfig(stored)) {
      validateConfig(stored);
      return {
        config: stored,
        preprocess: {
          imageResize: run.image_resize,
          imageCrop: run.image_crop,
          dnaK: run.dna_k,
          dnaMaxLen: run.dna_max_len,
        },
        source: "checkpoint metadata (training run)",
      };
    }
  }
  if (looksLikeClibdConfig(stored)) {
    validateConfig(stored);
    return { config: stored, preprocess: defaultPreprocess(stored), source: "checkpoint metadata" };
  }
  throw new Error(
    `${checkpoint}: no model config in the checkpoint metadata; give --config <yaml> with the architecture`,
  );
}
