/**
 * The bundled demo dataset: the 5,000 real BOLD barcodes of
 * data/demo/barcodebert_unseen_2023-07.tsv (100 species x 50 records, from
 * BarcodeBERT) with one synthetic specimen image per record (src/data/image/render.ts),
 * split by the same builder and rules as real data. The HDF5 is not committed: it is
 * built deterministically from a seed on first use (about 20 s).
 * @module
 */
import { bundledLocation } from "../util/location.ts";
import { buildHdf5, type ImageSource, parseMetadataTsv, type SourceRecord } from "./builder.ts";
import { splitSummary } from "./splits.ts";
import { renderSpecimen } from "./image/render.ts";
import { encodeJpeg } from "./image/encode.ts";
import { mixSeed } from "./loader.ts";

/** Folder of the demo data. */
export const DEMO_DIR: string = bundledLocation(new URL("../../data/demo/", import.meta.url));
/** Default path of the demo HDF5. */
export const DEMO_HDF5: string = `${DEMO_DIR}demo.hdf5`;

/** Options of {@link buildDemo}. */
export interface DemoOptions {
  seed?: number;
  /** Image side in pixels (default 64). */
  size?: number;
  out?: string;
  /** Called with progress messages. */
  log?: (msg: string) => void;
}

/** Builds the demo HDF5; returns the path and a split summary table. */
export async function buildDemo(opts: DemoOptions = {}): Promise<{ path: string; summary: string }> {
  const seed = opts.seed ?? 42, size = opts.size ?? 64, out = opts.out ?? DEMO_HDF5;
  const tsv = `${DEMO_DIR}barcodebert_unseen_2023-07.tsv`;
  const records = parseMetadataTsv(await Deno.readTextFile(tsv), tsv);
  const jpegs = new Map<SourceRecord, Uint8Array>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    jpegs.set(r, await encodeJpeg(renderSpecimen(r.taxonomy, mixSeed(seed, i), size), size, size, 60));
    if ((i + 1) % 1000 === 0) opts.log?.(`rendered ${i + 1}/${records.length} specimen images`);
  }
  const images: ImageSource = {
    size: (r) => Promise.resolve(jpegs.get(r)?.length ?? null),
    read: (r) => Promise.resolve(jpegs.get(r)!),
  };
  const res = await buildHdf5(out, records, images, { seed, gzipImages: 6 });
  return { path: out, summary: splitSummary(res.assignment, res.records.map((r) => r.taxonomy.species)) };
}

/** Returns the demo HDF5 path, building it first when it does not exist. */
export async function ensureDemo(log: (msg: string) => void = console.error): Promise<string> {
  try {
    await Deno.stat(DEMO_HDF5);
    return DEMO_HDF5;
  } catch {
    log(`[demo] building ${DEMO_HDF5} (first use; 5,000 real barcodes, synthetic images)...`);
    const { path } = await buildDemo({ log: (m) => log(`[demo] ${m}`) });
    return path;
  }
}
