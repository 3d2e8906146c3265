/**
 * `deno task make-hdf5 --tsv <metadata.tsv> --images <dir> --out <file.hdf5> [--seed N]`
 *
 * Reads BOLD/BIOSCAN metadata (processid, sampleid, order/family/genus/species or their `_name`
 * variants, nucleotides/dna_barcode, image_file, bin_uri/dna_bin), splits it with the BIOSCAN-1M
 * rules (spec 5.4) and writes a CLIBD-layout HDF5 file (spec 5.1). Records without an image file
 * are dropped (as in CLIBD's 5M builder) and counted. Prints records and species per split.
 */
import { parseArgs } from "node:util";
import { buildHdf5, folderImages, parseMetadataTsv } from "../src/data/builder.ts";
import { splitSummary } from "../src/data/splits.ts";

const usage = "usage: deno task make-hdf5 --tsv <metadata.tsv> --images <dir> --out <file.hdf5> [--seed N]";
const { values } = parseArgs({
  args: Deno.args,
  options: {
    tsv: { type: "string" },
    images: { type: "string" },
    out: { type: "string" },
    seed: { type: "string", default: "0" },
    help: { type: "boolean", default: false },
  },
});
if (values.help || !values.tsv || !values.images || !values.out) {
  console.error(usage);
  Deno.exit(values.help ? 0 : 2);
}
const seed = Number(values.seed);
if (!Number.isInteger(seed)) {
  console.error(`--seed must be an integer, got ${values.seed}\n${usage}`);
  Deno.exit(2);
}
try {
  const records = parseMetadataTsv(await Deno.readTextFile(values.tsv), values.tsv);
  const res = await buildHdf5(values.out, records, folderImages(values.images), { seed });
  console.log(
    `${values.out}: ${res.records.length} records (image rows of ${res.imageWidth} bytes), seed ${seed}`,
  );
  if (res.droppedNoImage.length) {
    console.log(
      `dropped ${res.droppedNoImage.length} record(s) without an image file (e.g. ${
        res.droppedNoImage.slice(0, 5).join(", ")
      })`,
    );
  }
  if (res.droppedBadImage.length) {
    console.log(
      `dropped ${res.droppedBadImage.length} record(s) whose image is not a complete JPEG (e.g. ${
        res.droppedBadImage.slice(0, 5).join("; ")
      })`,
    );
  }
  console.log(splitSummary(res.assignment, res.records.map((r) => r.taxonomy.species)));
} catch (e) {
  console.error(`make-hdf5: ${(e as Error).message}`);
  Deno.exit(1);
}
