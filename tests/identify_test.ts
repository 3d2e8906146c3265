/**
 * `deno task identify` end to end on the CPU with the tiny random model of tests/index_fixture.ts:
 * own photo / barcode found first, every bad-input case answered with its own message while the
 * good queries still get theirs, exit codes, and the refusal of a checkpoint other than the index's.
 */
import { assert, assertEquals } from "./assert.ts";
import { assertClose, cpu } from "./helpers.ts";
import { join } from "node:path";
import { identifyMain } from "../tasks/identify.ts";
import type { QueryAnswer } from "../src/index/identify.ts";
import { checkBarcode } from "../src/index/queries.ts";
import { encodePng } from "../src/data/image/encode.ts";
import { renderSpecimen } from "../src/data/image/render.ts";
import { fixture } from "./index_fixture.ts";

const OTHER_CKPT = new URL("./fixtures/models/clibd_tiny.safetensors", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await identifyMain(args, { out: (t) => out += t + "\n", err: (t) => err += t + "\n" }, cpu);
  return { code, out, err };
}

Deno.test("identify: a key's own photo and barcode return it first, similarity ~1, with votes", async () => {
  const fx = await fixture();
  const photo = join(fx.dir, "q4.jpg");
  await Deno.writeFile(photo, fx.recs[4].jpeg);
  const r = await run([
    "--index",
    fx.index,
    "--image",
    photo,
    "--barcode",
    fx.recs[8].barcode,
    "--json",
    "--k",
    "3",
  ]);
  assertEquals(r.code, 0, r.err);
  const [img, dna] = JSON.parse(r.out) as QueryAnswer[];
  assert(img.ok && dna.ok);
  assertEquals([img.against, img.neighbours[0].id], ["image", fx.recs[4].processid]);
  assertClose([img.neighbours[0].similarity], [1], { atol: 2e-6 });
  assertEquals(img.neighbours.length, 3);
  // Records 8 and 9 share their first 30 nt (all the tiny model reads): tie -> lower index (8).
  assertEquals(dna.neighbours[0].id, fx.recs[8].processid);
  assertClose([dna.neighbours[0].similarity], [1], { atol: 2e-6 });
  // Votes recomputed from the printed neighbours.
  for (const a of [img, dna]) {
    const order = a.neighbours.map((n) => n.taxonomy.order);
    const top = a.prediction[0];
    assertEquals(top.votes, order.filter((o) => o === top.label).length);
    assertEquals(top.of, 3);
  }
  const table = await run(["--index", fx.index, "--image", photo, "--against", "dna"]);
  assertEquals(table.code, 0, table.err);
  assert(table.out.includes("(image -> dna keys)") && table.out.includes("prediction: order:"), table.out);
});

Deno.test("identify: each bad input gets its own message, the others are answered, exit 1", async () => {
  const fx = await fixture();
  const d = fx.dir;
  const good = join(d, "good.jpg"),
    png = join(d, "x.png"),
    heic = join(d, "x.heic"),
    cut = join(d, "cut.jpg");
  await Deno.writeFile(good, fx.recs[0].jpeg);
  await Deno.writeFile(png, await encodePng(renderSpecimen(fx.recs[0].tax, 1, 48), 48, 48));
  // ISO-BMFF header with the 'heic' brand, as an iPhone photo starts.
  await Deno.writeFile(
    heic,
    new Uint8Array([0, 0, 0, 24, ...new TextEncoder().encode("ftypheic"), 0, 0, 0, 0]),
  );
  await Deno.writeFile(cut, fx.recs[1].jpeg.subarray(0, Math.floor(fx.recs[1].jpeg.length / 2)));
  const fa = join(d, "q.fa");
  await Deno.writeTextFile(
    fa,
    `>good one\n${fx.recs[3].barcode.slice(0, 40)}\n${fx.recs[3].barcode.slice(40)}\n>broken\n\n`,
  );
  const gappy = "ACG-TRYACGTNACGTACGTACGTAC" + fx.recs[5].barcode;
  const r = await run([
    "--index",
    fx.index,
    "--json",
    "--image",
    good,
    png,
    heic,
    cut,
    join(d, "missing.jpg"),
    "--barcode",
    gappy,
    "--barcode",
    "",
    "--barcode",
    "ACGTXACGT",
    "--fasta",
    fa,
    "--fasta",
    join(d, "none.fa"),
  ]);
  assertEquals(r.code, 1);
  assert(r.err.includes("8 of 11 queries could not be answered"), r.err);
  const a = JSON.parse(r.out) as QueryAnswer[];
  const by = (name: string) => a.find((x) => x.name === name)!;
  const errOf = (name: string) => {
    const x = by(name);
    assert(!x.ok, `${name} should fail`);
    return x.error;
  };
  assert(by(good).ok);
  assert(errOf(png).includes("PNG image, not a JPEG"), errOf(png));
  assert(errOf(heic).includes("HEIC/HEIF image"), errOf(heic));
  assert(errOf(cut).includes("damaged or truncated JPEG"), errOf(cut));
  assert(errOf(join(d, "missing.jpg")).endsWith("missing.jpg: no such file"));
  const g = by("barcode 1");
  assert(g.ok, "a barcode with gaps and IUPAC codes is still answered");
  assertEquals(g.warnings, [
    "2 IUPAC ambiguity code(s) and 1 gap(s): the k-mers containing them are read as <UNK>, as CLIBD does",
    `${gappy.length} nt: only the first 30 are read (CLIBD truncates the same way)`,
  ]);
  assertEquals(errOf("barcode 2"), "empty barcode");
  assert(
    errOf("barcode 3").startsWith("character 'X' at position 5 is not a nucleotide"),
    errOf("barcode 3"),
  );
  const fg = by(`${fa}:good`);
  assert(fg.ok && fg.neighbours[0].id === fx.recs[3].processid, "wrapped FASTA record answered");
  assertEquals(
    errOf(`${fa}:broken`),
    `malformed FASTA record: ${fa}:4: record 'broken' has no sequence lines`,
  );
  assertEquals(errOf(join(d, "none.fa")), `${join(d, "none.fa")}: no such file`);
});

Deno.test("identify: barcode checks (unit) and a checkpoint other than the index's is refused", async () => {
  const pre = { dnaK: 3, dnaMaxLen: 30 };
  assertEquals(checkBarcode("acgtacgtac", pre).sequence, "ACGTACGTAC");
  let msg = "";
  try {
    checkBarcode("NNN---RRR", pre);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "no readable 3-mer (every k-mer has N, a gap or an ambiguity code)");
  const fx = await fixture();
  const r = await run(["--index", fx.index, "--checkpoint", OTHER_CKPT, "--barcode", fx.recs[0].barcode]);
  assertEquals(r.code, 1);
  assert(r.err.includes("the index was built with another model"), r.err);
  assert(r.err.includes("clibd_tiny.safetensors has sha256"), r.err);
  const none = await run(["--index", join(fx.dir, "nope"), "--barcode", "ACGT"]);
  assertEquals(none.code, 1);
  assert(none.err.includes("not a key index (no manifest.json)"), none.err);
});

Deno.test("identify: below the open-set threshold the species is withheld, genus and above still voted", async () => {
  const fx = await fixture();
  const dir = join(fx.dir, "idx_strict");
  await Deno.mkdir(dir);
  for await (const e of Deno.readDir(fx.index)) {
    await Deno.copyFile(join(fx.index, e.name), join(dir, e.name));
  }
  const m = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  m.calibration.pairs["dna->dna"].threshold = 1.5; // no cosine reaches it
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(m));
  const r = await run(["--index", dir, "--barcode", fx.recs[2].barcode, "--json"]);
  assertEquals(r.code, 0, r.err);
  const [a] = JSON.parse(r.out) as QueryAnswer[];
  assert(a.ok && a.possiblyUnseen && a.threshold === 1.5);
  assertEquals(a.prediction.map((p) => p.label === null), [false, false, false, true]);
  assert(a.prediction[3].withheld!.startsWith("possibly unseen species: best similarity"));
  const genus = a.neighbours.map((n) => n.taxonomy.genus);
  assertEquals(a.prediction[2].votes, genus.filter((g) => g === a.prediction[2].label).length);
  const t = await run(["--index", dir, "--barcode", fx.recs[2].barcode]);
  assert(t.out.includes("POSSIBLY UNSEEN SPECIES") && t.out.includes("species: withheld"), t.out);
});
