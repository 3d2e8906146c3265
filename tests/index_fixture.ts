/**
 * Shared fixture of the key-index tests: 10 records of 4 species (real barcodes from BarcodeBERT's
 * unseen set, rendered specimen JPEGs), a tiny CLIBD model with random weights (seed 7) saved as a
 * checkpoint with its config in the metadata, and a one-go f32 index of them built on the CPU.
 */
import { join } from "node:path";
import { Hdf5Writer } from "../src/data/hdf5.ts";
import { renderSpecimen } from "../src/data/image/render.ts";
import { encodeJpeg } from "../src/data/image/encode.ts";
import type { Taxonomy } from "../src/data/taxonomy.ts";
import { type ClibdConfig, clibdTiny } from "../src/models/config.ts";
import { createClibdModel } from "../src/models/clibd.ts";
import { saveCheckpoint } from "../src/io/checkpoint.ts";
import { buildIndex, type BuildIndexOptions } from "../src/index/build.ts";
import { cpu } from "./helpers.ts";
import { DNA_TSV } from "./shared_data.ts";

const TSV = DNA_TSV;
const SIDE = 48;
/** Records taken per species block of the TSV (50 records per species there). */
const PER_SPECIES = [3, 3, 2, 2];

/** One key record. */
export interface FixtureRecord {
  processid: string;
  tax: Taxonomy;
  barcode: string;
  jpeg: Uint8Array;
}

/** Everything the tests share. */
export interface IndexFixture {
  dir: string;
  data: string;
  checkpoint: string;
  config: ClibdConfig;
  recs: FixtureRecord[];
  /** One-go f32 index (chunk 4). */
  index: string;
  buildOpts: Omit<BuildIndexOptions, "out">;
}

let cached: Promise<IndexFixture> | null = null;

/** Builds the fixture once per test process. */
export function fixture(): Promise<IndexFixture> {
  return cached ??= make();
}

async function make(): Promise<IndexFixture> {
  const dir = await Deno.makeTempDir({ prefix: "clibd_index_" });
  const lines = (await Deno.readTextFile(TSV)).split("\n", 50 * PER_SPECIES.length + 1);
  const recs: FixtureRecord[] = [];
  PER_SPECIES.forEach((n, s) => {
    for (let j = 0; j < n; j++) {
      const f = lines[1 + 50 * s + j].split("\t");
      recs.push({
        processid: f[0],
        tax: { order: f[5], family: f[6], genus: f[7], species: f[8] },
        barcode: f[9],
        jpeg: new Uint8Array(),
      });
    }
  });
  for (const [i, r] of recs.entries()) {
    r.jpeg = await encodeJpeg(renderSpecimen(r.tax, i + 1, SIDE), SIDE, SIDE, 90);
  }
  const data = join(dir, "keys.h5");
  const w = await Hdf5Writer.create(data);
  const width = Math.max(...recs.map((r) => r.jpeg.length));
  w.createDataset("all_keys/image", { dtype: "u8", shape: [recs.length, width] });
  recs.forEach((r, i) => {
    const row = new Uint8Array(width);
    row.set(r.jpeg);
    w.writeRows("all_keys/image", i, row);
  });
  w.writeDataset("all_keys/image_mask", BigInt64Array.from(recs.map((r) => BigInt(r.jpeg.length))));
  w.writeDataset("all_keys/barcode", recs.map((r) => r.barcode));
  for (const l of ["order", "family", "genus", "species"] as const) {
    w.writeDataset(`all_keys/${l}`, recs.map((r) => r.tax[l]));
  }
  w.writeDataset("all_keys/processid", recs.map((r) => r.processid));
  w.close();
  const config = clibdTiny();
  const model = createClibdModel(cpu, config, { seed: 7 });
  const checkpoint = join(dir, "tiny_seed7.safetensors");
  await saveCheckpoint(checkpoint, await model.stateDict(), config);
  model.release();
  const buildOpts: Omit<BuildIndexOptions, "out"> = {
    be: cpu,
    checkpoint,
    data,
    split: "all_keys",
    chunkSize: 4,
    batchSize: 3,
    workers: 0,
  };
  const index = join(dir, "idx");
  await buildIndex({ ...buildOpts, out: index });
  return { dir, data, checkpoint, config, recs, index, buildOpts };
}
