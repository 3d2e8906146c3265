/**
 * A small training dataset for trainer tests: 12 species x 10 real barcodes from the
 * demo TSV (BOLD records), rendered 40x40 specimen JPEGs, split by the real builder.
 * Built once per test process into a temp folder.
 */
import { buildHdf5, type ImageSource, parseMetadataTsv, type SourceRecord } from "../src/data/builder.ts";
import { renderSpecimen } from "../src/data/image/render.ts";
import { encodeJpeg } from "../src/data/image/encode.ts";
import { DEMO_DIR } from "../src/data/demo.ts";
import { resolveConfig } from "../src/config/load.ts";
import type { RunConfig } from "../src/config/schema.ts";

let cached: Promise<string> | undefined;

/** Path of the small HDF5 (CLIBD layout and split names). */
export function trainData(): Promise<string> {
  return cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "clibd-train-" });
    const tsv = `${DEMO_DIR}barcodebert_unseen_2023-07.tsv`;
    const all = parseMetadataTsv(await Deno.readTextFile(tsv), tsv);
    const perSpecies = new Map<string, SourceRecord[]>();
    for (const r of all) {
      const list = perSpecies.get(r.taxonomy.species) ?? [];
      if (list.length < 10) list.push(r);
      perSpecies.set(r.taxonomy.species, list);
    }
    const records = [...perSpecies.values()].slice(0, 12).flat();
    const jpegs = new Map<SourceRecord, Uint8Array>();
    for (const [i, r] of records.entries()) {
      jpegs.set(r, await encodeJpeg(renderSpecimen(r.taxonomy, i, 40), 40, 40, 80));
    }
    const images: ImageSource = {
      size: (r) => Promise.resolve(jpegs.get(r)!.length),
      read: (r) => Promise.resolve(jpegs.get(r)!),
    };
    const path = `${dir}/train.hdf5`;
    await buildHdf5(path, records, images, { seed: 1 });
    return path;
  })();
}

/** The demo config shrunk for tests (tiny towers, batch 8, no workers), on {@link trainData}. */
export async function tinyRunConfig(outDir: string, extra: string[] = []): Promise<RunConfig> {
  const data = await trainData();
  const { config } = await resolveConfig(null, [
    `data.path=${data}`,
    `output_dir=${outDir}`,
    "data.image_resize=36",
    "data.image_crop=32",
    "data.workers=0",
    "data.dna_max_len=64",
    "dna.max_positions=24",
    "image.hidden=16",
    "image.heads=2",
    "image.mlp=32",
    "image.layers=1",
    "dna.hidden=16",
    "dna.heads=2",
    "dna.intermediate=32",
    "dna.layers=1",
    "language.hidden=16",
    "language.heads=2",
    "language.intermediate=32",
    "language.layers=1",
    "output_dim=16",
    "batch_size=8",
    "contrastive_batch=8",
    "epochs=2",
    "checkpoint_every=null",
    "log_every=1",
    ...extra,
  ]);
  return config;
}
