import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { assignSplits, SPLIT_NAMES, splitSummary } from "../src/data/splits.ts";
import { buildHdf5, type ImageSource, parseMetadataTsv, type SourceRecord } from "../src/data/builder.ts";
import { Hdf5File } from "../src/data/hdf5.ts";
import { encodeJpeg } from "../src/data/image/encode.ts";
import { Rng } from "../src/util/rng.ts";

/** Synthetic species list: head species (10-40 records), tail (2-9), singletons, unlabeled. */
function syntheticSpecies(seed: number): string[] {
  const rng = new Rng(seed), out: string[] = [];
  for (let s = 0; s < 30; s++) for (let i = 0, n = 10 + rng.int(30); i < n; i++) out.push(`Genus sp${s}`);
  for (let s = 0; s < 12; s++) for (let i = 0, n = 2 + rng.int(8); i < n; i++) out.push(`Tail t${s}`);
  for (let s = 0; s < 7; s++) out.push(`Single s${s}`);
  for (let i = 0; i < 50; i++) out.push("not_classified");
  return Array.from(rng.permutation(out.length), (i) => out[i]);
}

Deno.test("splits: BIOSCAN-1M invariants hold and the result is seed-deterministic", () => {
  for (const seed of [1, 2, 3]) {
    const sp = syntheticSpecies(seed);
    const a = assignSplits(sp, { seed });
    const speciesOf = (s: typeof SPLIT_NAMES[number]) => new Set(a[s].map((i) => sp[i]));
    const seen = speciesOf("train_seen");
    const unseen = new Set([...speciesOf("val_unseen_keys"), ...speciesOf("test_unseen_keys")]);
    for (const s of unseen) ok(!seen.has(s), `unseen species ${s} in training`);
    for (const s of speciesOf("no_split_and_seen_train")) {
      ok(!unseen.has(s), `unseen ${s} in no_split_and_seen_train`);
    }
    // Every seen species appears in train, val, test and keys; every unseen in keys and queries.
    for (const g of ["val_seen", "test_seen", "seen_keys"] as const) assertEquals(speciesOf(g), seen);
    assertEquals(speciesOf("val_unseen"), speciesOf("val_unseen_keys"));
    assertEquals(speciesOf("test_unseen"), speciesOf("test_unseen_keys"));
    assertEquals([...speciesOf("val_unseen")].filter((s) => speciesOf("test_unseen").has(s)), []);
    assertEquals(seen.size, Math.round(30 * 0.8));
    // Partition: each record in exactly one of the primary groups; unions add up.
    const primary = [
      "no_split",
      "single_species",
      "train_seen",
      "val_seen",
      "test_seen",
      "seen_keys",
      "val_unseen",
      "val_unseen_keys",
      "test_unseen",
      "test_unseen_keys",
    ] as const;
    const all = primary.flatMap((g) => a[g]).sort((x, y) => x - y);
    assertEquals(all, sp.map((_, i) => i));
    assertEquals(
      a.all_keys.length,
      a.seen_keys.length + a.val_unseen_keys.length + a.test_unseen_keys.length,
    );
    assertEquals(
      a.no_split_and_seen_train.length,
      a.no_split.length + a.single_species.length + a.train_seen.length,
    );
    assertEquals(a.no_split.length, 50);
    assertEquals(a.single_species.length, 7);
    assertEquals(assignSplits(sp, { seed }), a);
    ok(splitSummary(a, sp).includes("all_keys"));
  }
  const sp = syntheticSpecies(1);
  ok(JSON.stringify(assignSplits(sp, { seed: 1 })) !== JSON.stringify(assignSplits(sp, { seed: 2 })));
});

Deno.test("builder: TSV -> HDF5 with the spec 5.1 layout", async () => {
  const sp = syntheticSpecies(4).slice(0, 120);
  const tsv = ["processid\tsampleid\torder_name\tfamily_name\tgenus_name\tspecies_name\tnucleotides\tbin_uri"]
    .concat(
      sp.map((s, i) =>
        `P${i}\tS${i}\tDiptera\tCulicidae\t${s === "not_classified" ? "" : s.split(" ")[0]}\t${
          s === "not_classified" ? "" : s
        }\tACGT${"A".repeat(i % 7)}\tBOLD:X${i}`
      ),
    ).join("\n");
  const recs = parseMetadataTsv(tsv, "t.tsv");
  assertEquals(recs[0].imageFile, "P0.jpg");
  const jpeg = await encodeJpeg(new Uint8Array(8 * 8 * 3).fill(128), 8, 8);
  const images: ImageSource = {
    size: (r: SourceRecord) => Promise.resolve(r.processid === "P3" ? null : jpeg.length),
    read: () => Promise.resolve(jpeg),
  };
  const dir = await Deno.makeTempDir();
  const res = await buildHdf5(`${dir}/b.h5`, recs, images, { seed: 5 });
  assertEquals(res.droppedNoImage, ["P3"]);
  const f = await Hdf5File.open(`${dir}/b.h5`);
  assertEquals(f.groups().sort(), [...SPLIT_NAMES].sort());
  const g = "no_split_and_seen_train";
  const n = res.assignment[g].length;
  assertEquals(f.shape(`${g}/image`), [n, jpeg.length]);
  assertEquals(f.shape(`${g}/language_tokens_input_ids`), [n, 20]);
  assertEquals(Array.from(f.readRowPrefix(`${g}/image`, 0, jpeg.length)), Array.from(jpeg));
  const ids = f.readStrings(`${g}/processid`, 0, n);
  assertEquals(ids, res.assignment[g].map((i) => res.records[i].processid));
  f.close();
});

Deno.test("jpegProblem: complete JPEGs pass; PNG, garbage and truncated files are named", async () => {
  const { jpegProblem } = await import("../src/data/builder.ts");
  const jpeg = await Deno.readFile(new URL("../data/images/bioscan1m/BIOUG68001-C12.jpg", import.meta.url));
  if (jpegProblem(jpeg) !== null) throw new Error("a real BIOSCAN JPEG was rejected");
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!jpegProblem(png)?.includes("no SOI")) throw new Error("PNG not rejected");
  if (!jpegProblem(jpeg.subarray(0, jpeg.length - 500))?.includes("truncated")) {
    throw new Error("truncated JPEG not rejected");
  }
});
