/**
 * `deno task make-demo [--seed N] [--size 64]`
 *
 * Builds data/demo/demo.hdf5 from the 5,000 real BOLD barcodes of
 * data/demo/barcodebert_unseen_2023-07.tsv (100 species x 50 records, from BarcodeBERT) with one
 * synthetic specimen image per record (src/data/image/render.ts), split by the same builder and
 * rules as real data. Deterministic from the seed: same seed, same file contents.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { buildHdf5, type ImageSource, parseMetadataTsv, type SourceRecord } from "../src/data/builder.ts";
import { splitSummary } from "../src/data/splits.ts";
import { renderSpecimen } from "../src/data/image/render.ts";
import { encodeJpeg } from "../src/data/image/encode.ts";
import { mixSeed } from "../src/data/loader.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seed: { type: "string", default: "42" }, size: { type: "string", default: "64" } },
});
const seed = Number(values.seed), size = Number(values.size);
const dir = fileURLToPath(new URL("../data/demo/", import.meta.url));
const tsv = `${dir}barcodebert_unseen_2023-07.tsv`;
const records = parseMetadataTsv(await Deno.readTextFile(tsv), tsv);

// Render every image once (5,000 x ~2 kB); each specimen gets its own seed.
const jpegs = new Map<SourceRecord, Uint8Array>();
for (let i = 0; i < records.length; i++) {
  const r = records[i];
  const rgb = renderSpecimen(r.taxonomy, mixSeed(seed, i), size);
  jpegs.set(r, await encodeJpeg(rgb, size, size, 60));
}
const images: ImageSource = {
  size: (r) => Promise.resolve(jpegs.get(r)?.length ?? null),
  read: (r) => Promise.resolve(jpegs.get(r)!),
};
const out = `${dir}demo.hdf5`;
const res = await buildHdf5(out, records, images, { seed, gzipImages: 6 });
const mb = (await Deno.stat(out)).size / 2 ** 20;
console.log(
  `${out}: ${res.records.length} records, ${size}x${size} JPEGs, seed ${seed}, ${mb.toFixed(1)} MiB`,
);
console.log(splitSummary(res.assignment, res.records.map((r) => r.taxonomy.species)));
