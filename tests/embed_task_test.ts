/**
 * `deno task embed` end to end on a tiny HDF5 file (synthetic JPEGs, real barcodes) with the tiny
 * fixture checkpoint: the written embeddings equal the model's embeddings computed directly from the
 * records (own decoding/tokenising, no loader), labels and ids round-trip, and the id dataset is
 * `file_name` for a split with `image_file` and `processid` otherwise.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { assertClose, cpu } from "./helpers.ts";
import { embedMain } from "../tasks/embed.ts";
import { Hdf5File, Hdf5Writer } from "../src/data/hdf5.ts";
import { renderSpecimen } from "../src/data/image/render.ts";
import { encodeJpeg } from "../src/data/image/encode.ts";
import { decodeAndTransform } from "../src/data/image/transforms.ts";
import { tokenizeDnaBatch } from "../src/data/dna.ts";
import { TextTokenizer } from "../src/data/text.ts";
import { type Taxonomy, taxonomyString } from "../src/data/taxonomy.ts";
import { loadClibdModel } from "../src/models/load.ts";
import { clibdTiny } from "../src/models/config.ts";
import { DNA_TSV } from "./shared_data.ts";

const CKPT = new URL("./fixtures/models/clibd_tiny.safetensors", import.meta.url).pathname;
const TSV = DNA_TSV;
const dir = await Deno.makeTempDir({ prefix: "clibd_embed_" });
const N = 7, SIDE = 40, RESIZE = 36, CROP = 32;

interface Rec {
  processid: string;
  file: string;
  tax: Taxonomy;
  barcode: string;
  jpeg: Uint8Array;
}

/** The first N records of BarcodeBERT's unseen set with a rendered specimen photo each. */
async function records(): Promise<Rec[]> {
  const lines = (await Deno.readTextFile(TSV)).split("\n", N * 4 + 1).slice(1);
  const out: Rec[] = [];
  for (const [i, line] of lines.entries()) {
    if (out.length === N) break;
    const f = line.split("\t");
    const tax = { order: f[5], family: f[6], genus: f[7], species: f[8] };
    const jpeg = await encodeJpeg(renderSpecimen(tax, i + 1, SIDE), SIDE, SIDE, 90);
    out.push({ processid: f[0], file: `${f[1]}.jpg`, tax, barcode: f[9], jpeg });
  }
  return out;
}

async function writeHdf5(path: string, recs: Rec[]): Promise<void> {
  const w = await Hdf5Writer.create(path);
  const width = Math.max(...recs.map((r) => r.jpeg.length));
  for (const split of ["with_files", "no_files"]) {
    w.createDataset(`${split}/image`, { dtype: "u8", shape: [recs.length, width] });
    recs.forEach((r, i) => {
      const row = new Uint8Array(width);
      row.set(r.jpeg);
      w.writeRows(`${split}/image`, i, row);
    });
    w.writeDataset(`${split}/image_mask`, BigInt64Array.from(recs.map((r) => BigInt(r.jpeg.length))));
    w.writeDataset(`${split}/barcode`, recs.map((r) => r.barcode));
    for (const l of ["order", "family", "genus", "species"] as const) {
      w.writeDataset(`${split}/${l}`, recs.map((r) => r.tax[l]));
    }
    w.writeDataset(`${split}/processid`, recs.map((r) => r.processid));
    if (split === "with_files") w.writeDataset(`${split}/image_file`, recs.map((r) => r.file));
  }
  w.close();
}

/** A run config describing exactly clibdTiny() (docs/ARCHITECTURE.md). */
const CONFIG_YAML = `name: embed_test
output_dim: 24
image: { image_size: 32, patch_size: 16, hidden: 32, heads: 2, layers: 2, mlp: 64, ln_eps: 1.0e-6 }
dna: { hidden: 32, heads: 2, layers: 2, intermediate: 64, max_positions: 16 }
language: { hidden: 16, heads: 2, layers: 2, intermediate: 32, max_positions: 24 }
disable_lora: true
lora: { r: 4, alpha: 4 }
batch_size: 3
data:
  image_resize: ${RESIZE}
  image_crop: ${CROP}
  dna_k: 3
  dna_max_len: 30
  text_max_len: 20
  workers: 0
`;

/** Embeddings computed without the task or the loader: own decode, tokenise, one forward. */
async function directEmbeddings(recs: Rec[]): Promise<Record<string, Float32Array>> {
  const be = cpu;
  const m = await loadClibdModel(be, clibdTiny(), { checkpoint: CKPT });
  const px = new Float32Array(recs.length * 3 * CROP * CROP);
  for (const [i, r] of recs.entries()) {
    px.set(
      await decodeAndTransform(r.jpeg, { mode: "eval", resize: RESIZE, crop: CROP }),
      i * 3 * CROP * CROP,
    );
  }
  const dna = tokenizeDnaBatch(recs.map((r) => r.barcode), { k: 3, maxLen: 30 });
  const tok = (await TextTokenizer.fromVocabFile()).encodeBatch(recs.map((r) => taxonomyString(r.tax)));
  const B = recs.length;
  const out = {
    encoded_image_feature: await be.read(m.embedImages(be.tensor(px, [B, 3, CROP, CROP]))),
    encoded_dna_feature: await be.read(m.embedDna(be.tensor(dna, [B, dna.length / B], "i32"))),
    encoded_language_feature: await be.read(m.embedText({
      inputIds: be.tensor(Int32Array.from(tok.inputIds), [B, 20], "i32"),
      tokenTypeIds: be.tensor(Int32Array.from(tok.tokenTypeIds), [B, 20], "i32"),
      attentionMask: be.tensor(Float32Array.from(tok.attentionMask), [B, 20]),
    })),
  };
  m.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Float32Array.from(v as Float32Array)]));
}

const recs = await records();
const data = `${dir}/tiny.h5`, cfgPath = `${dir}/tiny.yaml`;
await writeHdf5(data, recs);
await Deno.writeTextFile(cfgPath, CONFIG_YAML);

for (const split of ["with_files", "no_files"] as const) {
  Deno.test(`embed task: ${split} embeddings equal the model's, labels and ids round-trip`, async () => {
    const out = `${dir}/extracted_features_of_${split}.hdf5`;
    const res = await embedMain([
      "--config",
      cfgPath,
      "--checkpoint",
      CKPT,
      "--data",
      data,
      "--split",
      split,
      "--out",
      out,
      "--batch",
      "3",
      "--cpu",
    ]);
    const idField = split === "with_files" ? "file_name" : "processid";
    assertEquals(res, {
      rows: N,
      idField,
      features: ["encoded_image_feature", "encoded_dna_feature", "encoded_language_feature"],
    });
    const want = await directEmbeddings(recs);
    const f = await Hdf5File.open(out);
    try {
      for (const [k, v] of Object.entries(want)) {
        assertEquals(f.shape(k), [N, 24], `${k} shape`);
        assertClose(f.readNumbers(k, 0, N), v, { rtol: 1e-5, atol: 1e-6, what: k });
      }
      for (const l of ["order", "family", "genus", "species"] as const) {
        assertEquals(f.readStrings(`${l}_list`, 0, N), recs.map((r) => r.tax[l]), `${l}_list`);
      }
      const ids = recs.map((r) => (split === "with_files" ? r.file : r.processid));
      assertEquals(f.readStrings(idField, 0, N), ids, idField);
      assert(!f.has(idField === "file_name" ? "processid" : "file_name"), "only one id dataset");
    } finally {
      f.close();
    }
  });
}

Deno.test("embed task: clear errors for a missing split, missing file and bad flags", async () => {
  const base = ["--config", cfgPath, "--checkpoint", CKPT, "--data", data, "--out", `${dir}/x.h5`, "--cpu"];
  await assertRejects(() => embedMain([...base, "--split", "val"]), 'no split "val"');
  await assertRejects(
    () =>
      embedMain([...base.slice(0, 4), "--data", `${dir}/nope.h5`, "--out", `${dir}/x.h5`, "--split", "a"]),
    "HDF5 data file not found",
  );
  await assertRejects(() => embedMain([...base, "--split", "no_files", "--batch", "0"]), "--batch");
  await assertRejects(() => embedMain([...base, "--bogus"]), "bogus");
  await assertRejects(
    () => embedMain(["--config", cfgPath, "--data", data, "--split", "with_files", "--out", "y"]),
    "no weights",
  );
});
