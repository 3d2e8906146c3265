/**
 * `deno task embed`: embeds one split of a CLIBD HDF5 file with a model and writes CLIBD's
 * `extracted_features_of_{split}.hdf5` layout (spec 9.4): `encoded_image_feature`,
 * `encoded_dna_feature`, `encoded_language_feature` [N, D] (one per tower the model has),
 * `{order,family,genus,species}_list`, and `file_name` (when the split has `image_file`,
 * BIOSCAN-1M) or `processid` (BIOSCAN-5M).
 *
 *   deno task embed --config <yaml> [--set a.b=c]... [--checkpoint <file>] --data <hdf5>
 *       --split <group> --out <hdf5> [--batch N] [--limit N] [--cpu]
 *
 * Weights: `--checkpoint`, else the config's `ckpt_path` (when `load_ckpt`), else the per-tower
 * pretrained `checkpoint`s of the config (heads stay random, CLIBD's no-alignment baseline).
 * @module
 */
import { parseArgs } from "node:util";
import { resolveConfig } from "../src/config/load.ts";
import { modelConfigFrom } from "../src/config/derived.ts";
import type { RunConfig } from "../src/config/schema.ts";
import { loadClibdModel, type ModelSources } from "../src/models/load.ts";
import { extractSplit } from "../src/eval/extract.ts";
import { writeSplitEmbeddings } from "../src/eval/embeddings_file.ts";
import { Hdf5File } from "../src/data/hdf5.ts";
import { CpuBackend } from "../src/cpu_backend.ts";
import { GpuBackend } from "../src/gpu/gpu_backend.ts";
import type { Backend } from "../src/tensor.ts";
import { runMain, UserError } from "../src/util/errors.ts";

const USAGE = `usage: deno task embed --config <yaml> [--set a.b=c]... [--checkpoint FILE] --data HDF5 ` +
  `--split GROUP --out HDF5 [--batch N] [--limit N] [--cpu]`;

/** Progress and notes go to stderr unless CLIBD_QUIET=1. */
function log(line: string): void {
  if (Deno.env.get("CLIBD_QUIET") !== "1") console.error(line);
}

/** What {@link embedMain} did. */
export interface EmbedResult {
  /** Records written (after the loader's bad-record policy). */
  rows: number;
  /** The id dataset written. */
  idField: "file_name" | "processid";
  /** Feature datasets written. */
  features: string[];
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        config: { type: "string" },
        set: { type: "string", multiple: true },
        checkpoint: { type: "string" },
        data: { type: "string" },
        split: { type: "string" },
        out: { type: "string" },
        batch: { type: "string" },
        limit: { type: "string" },
        cpu: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n${USAGE}`);
  }
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag}: "${v}" is not a positive integer`);
  return n;
}

async function mustExist(path: string, what: string): Promise<void> {
  try {
    await Deno.stat(path);
  } catch {
    throw new UserError(`${what} not found: ${path}`);
  }
}

/** The weights to load: an explicit/configured CLIBD checkpoint, else the per-tower checkpoints. */
async function weightSources(cfg: RunConfig, checkpoint: string | undefined): Promise<ModelSources> {
  const ckpt = checkpoint ?? (cfg.load_ckpt ? cfg.ckpt_path ?? undefined : undefined);
  if (ckpt) {
    await mustExist(ckpt, "checkpoint");
    return { checkpoint: ckpt, seed: cfg.seed };
  }
  const towers: NonNullable<ModelSources["towers"]> = {};
  if (cfg.image?.checkpoint) towers.image = cfg.image.checkpoint;
  if (cfg.dna?.checkpoint) towers.dna = cfg.dna.checkpoint;
  if (cfg.language?.checkpoint) towers.text = cfg.language.checkpoint;
  if (Object.keys(towers).length === 0) {
    throw new UserError(
      "no weights: give --checkpoint, or set ckpt_path (with load_ckpt: true) or tower checkpoints in the config",
    );
  }
  for (const p of Object.values(towers)) await mustExist(p, "tower checkpoint");
  console.error(
    `[embed] no CLIBD checkpoint: pretrained towers only, heads at random init (seed ${cfg.seed})`,
  );
  return { towers, seed: cfg.seed };
}

/** The id dataset of CLIBD's file: `file_name` when the split has `image_file`, else `processid`. */
async function idFieldOf(data: string, split: string): Promise<"file_name" | "processid"> {
  const f = await Hdf5File.open(data);
  try {
    if (!f.has(split)) {
      throw new UserError(`${data}: no split "${split}" (file has: ${f.groups().join(", ")})`);
    }
    return f.keys(split).includes("image_file") ? "file_name" : "processid";
  } finally {
    f.close();
  }
}

/** Runs the task on command-line arguments (without the program name). */
export async function embedMain(argv: string[]): Promise<EmbedResult | null> {
  const a = parse(argv);
  if (a.help) {
    console.log(USAGE);
    return null;
  }
  if (!a.config) throw new UserError(`--config is required\n${USAGE}`);
  const { config: cfg } = await resolveConfig(a.config, a.set ?? []);
  const data = a.data ?? cfg.data.path;
  if (!a.split) throw new UserError(`--split is required\n${USAGE}`);
  if (!a.out) throw new UserError(`--out is required\n${USAGE}`);
  await mustExist(data, "HDF5 data file");
  const batch = positiveInt(a.batch, "--batch") ?? Math.min(cfg.batch_size, 256);
  const limit = positiveInt(a.limit, "--limit");
  if (cfg.image && (cfg.image.mean || cfg.image.std)) {
    throw new UserError("image.mean/image.std are not supported by embed yet (CLIBD uses none)");
  }
  if (cfg.language && cfg.data.text_max_len !== 20) {
    throw new UserError(`data.text_max_len ${cfg.data.text_max_len}: embed supports 20 tokens (CLIBD's)`);
  }
  const modelCfg = modelConfigFrom(cfg);
  const idField = await idFieldOf(data, a.split);
  const sources = await weightSources(cfg, a.checkpoint);
  const be: Backend = a.cpu ? new CpuBackend() : await GpuBackend.create();
  log(`[embed] ${data}:/${a.split} on ${be.name}`);
  const model = await loadClibdModel(be, modelCfg, sources);
  try {
    const t0 = performance.now();
    let last = 0;
    const split = await extractSplit(model, {
      file: data,
      split: a.split,
      batchSize: batch,
      resize: cfg.data.image_resize,
      crop: cfg.data.image_crop,
      dna: { k: cfg.data.dna_k, maxLen: cfg.data.dna_max_len },
      workers: cfg.data.workers ?? undefined,
      limit,
      onProgress: (done, total) => {
        const now = performance.now();
        if (done < total && now - last < 2000) return;
        last = now;
        const rate = done / ((now - t0) / 1000);
        log(`[embed] ${done}/${total} records (${rate.toFixed(1)}/s)`);
      },
    });
    if (split.labels.length === 0) throw new UserError(`${data}:/${a.split}: no usable records`);
    await writeSplitEmbeddings(a.out, split, idField);
    const features = Object.keys(split.features);
    log(
      `[embed] wrote ${a.out}: ${split.labels.length} records, ${features.join(", ")}, ${idField}`,
    );
    return { rows: split.labels.length, idField, features };
  } finally {
    model.release();
  }
}

if (import.meta.main) await runMain("embed", async () => void (await embedMain(Deno.args)));
