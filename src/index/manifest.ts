/**
 * The manifest of a key index folder (`manifest.json`): what was embedded, with which model, in which
 * precision, and the open-set similarity thresholds. It is written last, so a folder without it is an
 * unfinished build.
 * @module
 */
import { join } from "node:path";
import type { ClibdConfig } from "../models/config.ts";
import type { FileIdentity } from "./hash.ts";

/** Modalities an index stores per key. */
export type IndexModality = "image" | "dna";

/** Storage precision of the embedding files. */
export type IndexDtype = "f32" | "f16";

/** Preprocessing the embeddings were made with (queries must use the same). */
export interface Preprocess {
  /** Shorter side after resize (CLIBD 256). */
  imageResize: number;
  /** Square centre crop (CLIBD 224). */
  imageCrop: number;
  /** DNA k-mer size (CLIBD 5). */
  dnaK: number;
  /** Barcode length after N-padding / truncation (CLIBD 660). */
  dnaMaxLen: number;
}

/** Calibration of one query -> key modality pair (see src/index/threshold.ts for the rule). */
export interface PairCalibration {
  /** Modality of the queries. */
  query: IndexModality;
  /** Modality of the keys. */
  key: IndexModality;
  /** Similarity below which a query is flagged "possibly unseen species"; null = not enough data. */
  threshold: number | null;
  /** Percentile of leave-one-out same-species nearest-neighbour similarities used as threshold. */
  percentile: number;
  /** Keys used as calibration queries (a seeded sample when the key set is large). */
  queriesUsed: number;
  /** Of those, keys with at least one other key of the same (classified) species. */
  withSameSpecies: number;
  /** Same-species LOO nearest-neighbour similarity: 5th percentile and median. */
  sameSpeciesNN: { p5: number; median: number } | null;
  /** Nearest different-species similarity: median and 95th percentile. */
  otherSpeciesNN: { median: number; p95: number } | null;
  /**
   * Fraction of calibration keys whose best different-species similarity is below the threshold:
   * how often a specimen of a species absent from the keys would be flagged (leave-one-species-out).
   */
  unseenFlagRate: number | null;
}

/** Contents of `manifest.json`. */
export interface IndexManifest {
  /** Format tag. */
  format: "clibd-key-index";
  /** Format version. */
  version: 1;
  /** ISO time the build finished. */
  created: string;
  /** The model the keys were embedded with. */
  model: {
    config: ClibdConfig;
    /** Where the config came from: "checkpoint metadata" or a YAML path. */
    configSource: string;
    preprocess: Preprocess;
  };
  /** Size and hash of the checkpoint the keys were embedded with. */
  checkpoint: FileIdentity;
  /** HDF5 file and split the keys come from. */
  data: { path: string; split: string };
  /** Number of keys. */
  count: number;
  /** Embedding width. */
  dim: number;
  /** Storage type of the embeddings on disk. */
  dtype: IndexDtype;
  /** Modalities embedded for every key. */
  modalities: IndexModality[];
  /** Files in the folder: raw little-endian row-major [count, dim] embeddings per modality. */
  files: Partial<Record<IndexModality, string>> & { labels: string; ids: string };
  /** Unseen-species thresholds, per query -> key pair. */
  calibration: {
    /** The rule in words. */
    rule: string;
    pairs: Record<string, PairCalibration>;
  };
}

/** Key of a modality pair in `calibration.pairs`, e.g. "image->dna". */
export function pairKey(query: IndexModality, key: IndexModality): string {
  return `${query}->${key}`;
}

/** Reads and sanity-checks `dir/manifest.json`; errors say what is wrong with the folder. */
export async function readManifest(dir: string): Promise<IndexManifest> {
  const p = join(dir, "manifest.json");
  let text: string;
  try {
    text = await Deno.readTextFile(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      const partial = await Deno.stat(join(dir, "build.json")).then(() => true, () => false);
      throw new Error(
        partial
          ? `${dir}: index build not finished (no manifest.json); rerun \`deno task index\` with the same arguments to resume`
          : `${dir}: not a key index (no manifest.json)`,
      );
    }
    throw new Error(`${p}: ${(e as Error).message}`);
  }
  let m: IndexManifest;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new Error(`${p}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== "clibd-key-index") {
    throw new Error(`${p}: format is ${m.format}, expected clibd-key-index`);
  }
  if (m.version !== 1) throw new Error(`${p}: unsupported index version ${m.version}`);
  if (m.dtype !== "f32" && m.dtype !== "f16") throw new Error(`${p}: dtype ${m.dtype} is not f32 or f16`);
  return m;
}
