import { deepStrictEqual as assertEquals, notDeepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { Hdf5Writer } from "../src/data/hdf5.ts";
import { SplitReader } from "../src/data/records.ts";
import { type Batch, DataLoader } from "../src/data/loader.ts";
import { encodeJpeg } from "../src/data/image/encode.ts";
import { tokenizeDna } from "../src/data/dna.ts";
import { Rng } from "../src/util/rng.ts";

const dir = await Deno.makeTempDir({ prefix: "clibd_loader_" });
const N = 23;

/** A split of N records; `bad` maps row -> which field to corrupt. */
async function makeFile(path: string, bad: Record<number, string> = {}): Promise<void> {
  const rng = new Rng(3);
  const jpegs: Uint8Array[] = [];
  for (let i = 0; i < N; i++) {
    const px = new Uint8Array(40 * 30 * 3).map(() => rng.int(256));
    jpegs.push(await encodeJpeg(px, 40, 30, 80));
  }
  const width = Math.max(...jpegs.map((j) => j.length));
  const w = await Hdf5Writer.create(path);
  w.createDataset("train/image", { dtype: "u8", shape: [N, width] });
  const mask = new BigInt64Array(N);
  jpegs.forEach((j, i) => {
    const bytes = bad[i] === "truncated_jpeg" ? j.subarray(0, j.length >> 1) : j;
    const row = new Uint8Array(width);
    row.set(bytes);
    w.writeRows("train/image", i, row);
    mask[i] = BigInt(bad[i] === "mask" ? width + 5 : bytes.length);
  });
  w.writeDataset("train/image_mask", mask, undefined, "i64");
  const str = (f: (i: number) => string) => Array.from({ length: N }, (_, i) => f(i));
  w.writeDataset(
    "train/barcode",
    str((i) =>
      bad[i] === "empty_barcode"
        ? ""
        : bad[i] === "lower"
        ? "acgtACGT"
        : bad[i] === "iupac"
        ? "ACGRYT-A"
        : `ACGT${"ACGTA".repeat(i)}`
    ),
  );
  w.writeDataset("train/order", str(() => "Diptera"));
  w.writeDataset("train/family", str((i) => bad[i] === "empty_taxon" ? "" : "Culicidae"));
  w.writeDataset("train/genus", str((i) => bad[i] === "utf8" ? "Aed\uFFFDs" : "Aedes"));
  w.writeDataset("train/species", str((i) => `Aedes s${i}`));
  w.writeDataset("train/processid", str((i) => `P${i}`));
  w.createGroup("empty");
  for (const k of ["barcode", "order", "family", "genus", "species"]) w.writeDataset(`empty/${k}`, []);
  w.close();
}

const good = `${dir}/good.h5`, bad = `${dir}/bad.h5`;
await makeFile(good);
await makeFile(bad, {
  2: "truncated_jpeg",
  4: "mask",
  5: "empty_barcode",
  6: "lower",
  7: "empty_taxon",
  8: "iupac",
  9: "utf8",
});

async function collect(l: DataLoader, epoch: number, pos = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of l.epoch(epoch, pos)) out.push(b);
  return out;
}

Deno.test("records: each bad-record kind is skipped or flagged, counted, and fatal in strict mode", async () => {
  const warnings: string[] = [];
  const r = await SplitReader.open(bad, "train", { policy: { warn: (l) => warnings.push(l) } });
  const recs = r.read(Array.from({ length: N }, (_, i) => i));
  const skipped = recs.map((x, i) => x ? -1 : i).filter((i) => i >= 0);
  assertEquals(skipped, [4, 5, 7, 9]); // truncated JPEG (2) is caught at decode time
  assertEquals(recs[6]!.barcode, "acgtACGT"); // flagged, kept, tokenised as <UNK> like CLIBD
  assertEquals(Object.fromEntries(r.tracker.counts), {
    image_mask_out_of_range: 1,
    empty_barcode: 1,
    barcode_lowercase: 1,
    taxonomy_empty: 1,
    barcode_iupac: 1,
    barcode_gap: 1,
    text_not_utf8: 1,
  });
  ok(warnings.some((w) => w.includes("bad.h5:/train: skipping record P4: image_mask_out_of_range")));
  r.close();
  const s = await SplitReader.open(bad, "train", { policy: { strict: true } });
  throws(() => s.read([4]), /bad\.h5:\/train: record P4: image_mask_out_of_range: image_mask \d+ outside/);
  s.close();
  await rejects(SplitReader.open(bad, "empty", { policy: { strict: true } }), /empty_split/);
  const e = await SplitReader.open(bad, "empty", { policy: { warn: () => {} } });
  assertEquals(e.size, 0);
  e.close();
  await rejects(SplitReader.open(bad, "val"), /no split "val" \(file has: empty, train\)/);
});

Deno.test("loader: corrupt JPEG is skipped and batches stay full", async () => {
  const warnings: string[] = [];
  const l = await DataLoader.create({
    file: bad,
    split: "train",
    batchSize: 4,
    shuffle: "none",
    dropLast: true,
    resize: 32,
    crop: 24,
    workers: 0,
    policy: { warn: (w) => warnings.push(w) },
  });
  const bs = await collect(l, 0);
  const ids = bs.flatMap((b) => b.ids);
  assertEquals(bs.length, Math.floor((N - 5) / 4));
  ok(!ids.includes("P2") && !ids.includes("P4"));
  ok(bs.every((b) => b.size === 4 && b.images!.length === 4 * 3 * 24 * 24));
  ok(warnings.some((w) => w.includes("P2: image_decode_failed")));
  l.close();
});

Deno.test("loader: shuffle modes, worker/main-thread agreement, resume and contents", async () => {
  const opts = {
    file: good,
    split: "train",
    batchSize: 5,
    resize: 32,
    crop: 24,
    mode: "train" as const,
    seed: 9,
  };
  const w = await DataLoader.create({ ...opts, workers: 2 });
  const m = await DataLoader.create({ ...opts, workers: 0 });
  const e0 = await collect(w, 0), e0m = await collect(m, 0), e1 = await collect(w, 1);
  assertEquals(e0.map((b) => b.size), [5, 5, 5, 5, 3]);
  for (let i = 0; i < e0.length; i++) {
    assertEquals(e0[i].ids, e0m[i].ids);
    assertEquals(e0[i].images, e0m[i].images); // same per-sample augmentation seeds
  }
  assertEquals(e0.flatMap((b) => b.ids).sort(), Array.from({ length: N }, (_, i) => `P${i}`).sort());
  notDeepStrictEqual(e0.flatMap((b) => b.ids), e1.flatMap((b) => b.ids));
  // Resume after batch 2 of epoch 1 reproduces the rest of the epoch.
  const rest = await collect(w, 1, e1[1].position);
  assertEquals(rest.map((b) => b.ids), e1.slice(2).map((b) => b.ids));
  assertEquals(rest.map((b) => b.images), e1.slice(2).map((b) => b.images));
  // Contents: DNA tokens, text tokens and labels line up with the record index.
  const b = e0[0];
  const i0 = b.indices[0];
  assertEquals(Array.from(b.dna.subarray(0, 133)), Array.from(tokenizeDna(`ACGT${"ACGTA".repeat(i0)}`)));
  assertEquals(b.labels.species[0], `Aedes s${i0}`);
  assertEquals(b.text.inputIds[0], 101);
  ok(b.images!.every((v) => v >= 0 && v <= 1));
  w.close();
  m.close();
  const f = await DataLoader.create({ ...opts, shuffle: "fixed", workers: 0, images: false });
  assertEquals((await collect(f, 0)).map((b) => b.ids), (await collect(f, 3)).map((b) => b.ids));
  assertEquals((await collect(f, 0))[0].images, null);
  f.close();
});
