/**
 * Key index: FASTA parsing, votes, the open-set threshold rule, resumable building (half then resume
 * == one go), f16 vs f32, and the index's own keys found first with similarity ~1 (checked against
 * embeddings computed directly with the model). Shared fixture: tests/index_fixture.ts.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { assertClose, cpu } from "./helpers.ts";
import { join } from "node:path";
import { parseFasta, parseFastaStrict } from "../src/io/fasta.ts";
import { majorityVote, voteLevels } from "../src/index/votes.ts";
import { calibratePair, looNearest, percentile, summariseCalibration } from "../src/index/threshold.ts";
import { buildIndex } from "../src/index/build.ts";
import { openIndex } from "../src/index/open.ts";
import { loadClibdModel } from "../src/models/load.ts";
import { decodeAndTransform } from "../src/data/image/transforms.ts";
import { tokenizeDnaBatch } from "../src/data/dna.ts";
import { fixture } from "./index_fixture.ts";

Deno.test("fasta: multi-record, wrapped lines, blank lines, CRLF, comments", () => {
  const text = ">a first one\r\nACGT\r\nAC\r\n\r\n; comment\n>b\nTT\n  GG  \n";
  const r = parseFasta(text, "x.fa");
  assertEquals(r.issues, []);
  assertEquals(r.records, [
    { id: "a", description: "first one", sequence: "ACGTAC", line: 1 },
    { id: "b", description: "", sequence: "TTGG", line: 6 },
  ]);
});

Deno.test("fasta: malformed records are named by line and skipped, the rest kept", () => {
  const text = "ACGT\n>ok\nAAA\n>empty\n\n>\nCCC\n>last\nGG\n";
  const r = parseFasta(text, "x.fa");
  assertEquals(r.records.map((x) => [x.id, x.sequence]), [["ok", "AAA"], ["last", "GG"]]);
  assertEquals(r.issues.map((i) => i.message), [
    "x.fa:1: sequence data before the first '>' header",
    "x.fa:4: record 'empty' has no sequence lines",
    "x.fa:6: header '>' has no sequence name",
  ]);
  assertThrows(() => parseFastaStrict(text, "x.fa"), "x.fa:1:");
  assertThrows(() => parseFastaStrict("\n\n", "e.fa"), "e.fa: no FASTA records");
});

Deno.test("votes: majority with share, ties go to the nearest's label, species withheld", () => {
  const t = (o: string, f: string, g: string, s: string) => ({ order: o, family: f, genus: g, species: s });
  // Nearest first. By hand: order D 5/5; family A 3/5 (A,A,B,A,B); genus: g1 2, g2 2, g3 1 -> tie
  // between g2 (first at rank 1) and g1 (rank 2) -> g2; species all different -> s1 (nearest), 1/5.
  const nb = [
    t("D", "A", "g2", "s1"),
    t("D", "A", "g1", "s2"),
    t("D", "B", "g1", "s3"),
    t("D", "A", "g3", "s4"),
    t("D", "B", "g2", "s5"),
  ];
  const v = voteLevels(nb);
  assertEquals(v.map((x) => [x.level, x.label, x.votes, x.share]), [
    ["order", "D", 5, 1],
    ["family", "A", 3, 0.6],
    ["genus", "g2", 2, 0.4],
    ["species", "s1", 1, 0.2],
  ]);
  assertEquals(majorityVote(["x", "y", "y", "x"]), { label: "x", votes: 2 });
  const w = voteLevels(nb, "possibly unseen");
  assertEquals(w[3], {
    level: "species",
    label: null,
    votes: 0,
    of: 5,
    share: 0,
    withheld: "possibly unseen",
  });
  assertEquals(w[2].label, "g2");
});

Deno.test("threshold: percentile, leave-one-out nearest and the calibration on unit vectors", async () => {
  // numpy.percentile([0.9, 0.5, 0.7, 0.8], 5) = 0.5 + 0.15 * (0.7 - 0.5) = 0.53 (pos 0.15).
  assertClose([percentile([0.9, 0.5, 0.7, 0.8], 5)], [0.53], { atol: 1e-12 });
  assertEquals(percentile([3], 50), 3);
  const sp = ["a", "a", "b", "not_classified"];
  assertEquals(looNearest([1, 0.8, 0.6, 0.99], 0, sp), { same: 0.8, other: 0.6 });
  assertEquals(looNearest([0.6, 0.5, 1, 0.99], 2, sp), { same: null, other: 0.6 });
  // 2-D unit vectors at angles (degrees); cosine = cos(angle difference).
  const ang = [0, 10, 30, 90, 95, 200];
  const species = ["a", "a", "a", "b", "b", "c"];
  const emb = new Float32Array(
    ang.flatMap((d) => [Math.cos(d * Math.PI / 180), Math.sin(d * Math.PI / 180)]),
  );
  const cal = await calibratePair(cpu, emb, emb, 2, species, { query: "image", key: "image" });
  const c = (d: number) => Math.cos(d * Math.PI / 180);
  // Same-species LOO NN: key0 -> 10deg, key1 -> 10deg, key2 -> 20deg, key3 -> 5, key4 -> 5; key5 none.
  const same = [c(10), c(10), c(20), c(5), c(5)];
  assertClose([cal.threshold!], [percentile(same, 5)], { atol: 1e-6 });
  assertEquals(cal.withSameSpecies, 5);
  assertEquals(cal.queriesUsed, 6);
  // Other-species NN: key0 -> 90 (b at 90), key1 -> 80, key2 -> 60, key3 -> 60, key4 -> 65, key5 -> 105 (to 95).
  const other = [c(90), c(80), c(60), c(60), c(65), c(105)];
  assertClose([cal.unseenFlagRate!], [other.filter((v) => v < percentile(same, 5)).length / 6], { atol: 0 });
  const direct = summariseCalibration([{ same: 0.9, other: 0.2 }], { query: "dna", key: "dna" }, 5);
  assertEquals(direct.threshold, null); // one same-species value is not enough
});

Deno.test("index: half build + resume equals a one-go build; f16 keeps top-1; unfinished folder refused", async () => {
  const fx = await fixture();
  const half = join(fx.dir, "idx_half");
  const r1 = await buildIndex({ ...fx.buildOpts, out: half, chunkSize: 4, maxChunks: 1 });
  assertEquals([r1.complete, r1.newChunks, r1.totalChunks], [false, 1, 3]);
  await assertRejects(() => openIndex(half), "index build not finished");
  await assertRejects(
    () => buildIndex({ ...fx.buildOpts, out: half, chunkSize: 5 }),
    "partial build with a different chunk size",
  );
  const r2 = await buildIndex({ ...fx.buildOpts, out: half, chunkSize: 4 });
  assertEquals([r2.complete, r2.resumedChunks, r2.newChunks], [true, 1, 2]);
  for (const f of ["image.f32.bin", "dna.f32.bin", "labels.json", "ids.json"]) {
    const a = await Deno.readFile(join(half, f)), b = await Deno.readFile(join(fx.index, f));
    assertEquals(a.length, b.length, f);
    assert(a.every((v, i) => v === b[i]), `${f} differs between resumed and one-go builds`);
  }
  const m1 = (await openIndex(half)).manifest, m0 = (await openIndex(fx.index)).manifest;
  assertEquals(m1.calibration, m0.calibration);
  assertEquals(m0.count, fx.recs.length);

  const f16 = join(fx.dir, "idx_f16");
  await buildIndex({ ...fx.buildOpts, out: f16, dtype: "f16" });
  const [i32, i16] = [await openIndex(fx.index), await openIndex(f16)];
  assertEquals(
    (await Deno.stat(join(f16, "dna.f16.bin"))).size * 2,
    (await Deno.stat(join(fx.index, "dna.f32.bin"))).size,
  );
  // Every key's own embedding as a query: f16 keys give the same top-1 as f32 keys.
  const raw = new Float32Array((await Deno.readFile(join(fx.index, "image.f32.bin"))).buffer);
  for (const mod of ["image", "dna"] as const) {
    const rows = mod === "image"
      ? raw
      : new Float32Array((await Deno.readFile(join(fx.index, "dna.f32.bin"))).buffer);
    for (let i = 0; i < m0.count; i++) {
      const q = rows.subarray(i * m0.dim, (i + 1) * m0.dim);
      assertEquals(i16.search(q, mod, 1)[0].index, i32.search(q, mod, 1)[0].index, `${mod} key ${i}`);
    }
  }
});

Deno.test("index: own keys come first with similarity 1 (embeddings recomputed directly)", async () => {
  const fx = await fixture();
  const idx = await openIndex(fx.index);
  assertEquals(idx.ids, fx.recs.map((r) => r.processid));
  const model = await loadClibdModel(cpu, fx.config, { checkpoint: fx.checkpoint });
  const px = new Float32Array(fx.recs.length * 3 * 32 * 32);
  for (const [i, r] of fx.recs.entries()) {
    px.set(await decodeAndTransform(r.jpeg, { mode: "eval", resize: 37, crop: 32 }), i * 3 * 32 * 32);
  }
  const img = await cpu.read(model.embedImages(cpu.tensor(px, [fx.recs.length, 3, 32, 32])));
  const ids = tokenizeDnaBatch(fx.recs.map((r) => r.barcode), { k: 3, maxLen: 30 });
  const dna = await cpu.read(model.embedDna(cpu.tensor(ids, [fx.recs.length, 11], "i32")));
  model.release();
  const D = idx.manifest.dim;
  const T = 11, tok = (i: number) => ids.subarray(i * T, (i + 1) * T).join(",");
  for (const [mod, e] of [["image", img], ["dna", dna]] as const) {
    for (let i = 0; i < fx.recs.length; i++) {
      const hits = idx.search(e.subarray(i * D, (i + 1) * D), mod, fx.recs.length);
      const own = hits.findIndex((h) => h.index === i);
      assertClose([hits[own].similarity], [1], { atol: 2e-6, what: `${mod} self-similarity ${i}` });
      assertEquals(hits[own].taxonomy, fx.recs[i].tax);
      // Only an identical input (same 30-nt barcode prefix: k=3, max_len 30) may rank before itself
      // (tie -> lower key index).
      for (const h of hits.slice(0, own)) {
        assert(
          mod === "dna" && tok(h.index) === tok(i) && h.index < i,
          `${mod} query ${i}: key ${h.index} first`,
        );
      }
    }
  }
});
