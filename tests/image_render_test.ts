/**
 * Synthetic specimen renderer: determinism, valid output, and the intended similarity structure
 * (species of one genus look more alike than different orders).
 */
import assert from "node:assert";
import { decodeJpeg } from "../src/data/image/decode.ts";
import { encodeJpeg } from "../src/data/image/encode.ts";
import { renderSpecimen } from "../src/data/image/render.ts";
import type { Taxonomy } from "../src/data/taxonomy.ts";

const S = 48;
const fly1: Taxonomy = {
  order: "Diptera",
  family: "Cecidomyiidae",
  genus: "Asphondylia",
  species: "Asphondylia solidaginis",
};
const fly2: Taxonomy = { ...fly1, species: "Asphondylia monacha" };
const fly3: Taxonomy = { ...fly1, genus: "Contarinia", species: "Contarinia nasturtii" };
const fly4: Taxonomy = { ...fly1, genus: "Rhopalomyia", species: "Rhopalomyia solidaginis" };
const fly5: Taxonomy = { ...fly4, species: "Rhopalomyia capitata" };
const beetle: Taxonomy = {
  order: "Coleoptera",
  family: "Staphylinidae",
  genus: "Atheta",
  species: "Atheta fungi",
};
const spider: Taxonomy = {
  order: "Araneae",
  family: "Linyphiidae",
  genus: "Erigone",
  species: "Erigone aletris",
};
const moth: Taxonomy = {
  order: "Lepidoptera",
  family: "Geometridae",
  genus: "Eupithecia",
  species: "Eupithecia miserulata",
};

/** 4x4 box average of an S x S RGB render (coarse appearance: a one-pixel shift of a thin leg
 * would otherwise count as much as a different body plan). */
function coarse(img: Uint8Array): Float64Array {
  const n = S / 4, out = new Float64Array(n * n * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      for (let c = 0; c < 3; c++) out[((y >> 2) * n + (x >> 2)) * 3 + c] += img[(y * S + x) * 3 + c] / 16;
    }
  }
  return out;
}

/** Mean absolute difference of coarse renders with the same specimen seed (same pose), over seeds. */
function dist(a: Taxonomy, b: Taxonomy, seeds = 6): number {
  let sum = 0;
  for (let s = 0; s < seeds; s++) {
    const x = coarse(renderSpecimen(a, s, S)), y = coarse(renderSpecimen(b, s, S));
    let d = 0;
    for (let i = 0; i < x.length; i++) d += Math.abs(x[i] - y[i]);
    sum += d / x.length;
  }
  return sum / seeds;
}

Deno.test("renderSpecimen is deterministic and seed-dependent", () => {
  const a = renderSpecimen(fly1, 3, S), b = renderSpecimen(fly1, 3, S), c = renderSpecimen(fly1, 4, S);
  assert.strictEqual(a.length, S * S * 3);
  assert.deepStrictEqual(a, b);
  assert.notDeepStrictEqual(a, c);
});

Deno.test("renders look like a dark figure on a light background, also for unknown orders", () => {
  for (
    const t of [fly1, beetle, spider, moth, {
      order: "Zygentoma",
      family: "Lepismatidae",
      genus: "Lepisma",
      species: "Lepisma saccharina",
    }]
  ) {
    const img = renderSpecimen(t, 1, 64);
    let light = 0, dark = 0;
    for (let p = 0; p < 64 * 64; p++) {
      const l = (img[3 * p] + img[3 * p + 1] + img[3 * p + 2]) / 3;
      if (l > 170) light++;
      if (l < 140) dark++;
    }
    assert(light > 0.4 * 64 * 64, `${t.order}: background fraction ${light / 4096}`);
    assert(dark > 0.02 * 64 * 64, `${t.order}: figure fraction ${dark / 4096}`);
  }
  assert.throws(() => renderSpecimen(fly1, 0, 4), /size/);
});

Deno.test("species of a genus differ less than genera, and genera less than orders", () => {
  const species = (dist(fly1, fly2) + dist(fly4, fly5)) / 2;
  const genus = (dist(fly1, fly3) + dist(fly1, fly4) + dist(fly3, fly5)) / 3;
  const orders = (dist(fly1, beetle) + dist(fly1, spider) + dist(fly1, moth)) / 3;
  if (Deno.env.get("IMAGE_TEST_VERBOSE")) console.log({ species, genus, orders });
  assert(species > 0, "species must not render identically");
  assert(species < orders, `species ${species} vs orders ${orders}`);
  assert(species < genus, `species ${species} vs genus ${genus}`);
  assert(genus < orders, `genus ${genus} vs orders ${orders}`);
});

Deno.test("renders survive the JPEG round trip used by the demo dataset", async () => {
  const img = renderSpecimen(moth, 2, 64);
  const dec = await decodeJpeg(await encodeJpeg(img, 64, 64, 90));
  let d = 0;
  for (let i = 0; i < img.length; i++) d += Math.abs(img[i] - dec.data[i]);
  assert(d / img.length < 8, `mean JPEG error ${d / img.length}`);
});
