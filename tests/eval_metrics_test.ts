/**
 * The evaluation protocol against an independent brute-force implementation
 * (full similarity matrix, full stable sort, counting by hand), on random and
 * adversarial inputs.
 */
import { assertEquals, assertThrows } from "./assert.ts";
import {
  harmonicMean,
  LEVELS,
  predictLabels,
  type Taxonomy,
  topKMicroAccuracy,
} from "../src/eval/metrics.ts";
import {
  addDerivedFeatures,
  evaluateRetrieval,
  type FeatureSplit,
  overallTop1,
} from "../src/eval/protocol.ts";
import { makeSearch } from "../src/eval/search.ts";
import { CpuBackend } from "../src/cpu_backend.ts";

const search = makeSearch(new CpuBackend());
const cosineTopKCpu = (q: Float32Array, k: Float32Array, dim: number, n: number) =>
  search({ data: q, dim }, { data: k, dim }, n);
import { Rng } from "../src/util/rng.ts";

/** Independent nearest-key ranking: sort all keys by (similarity desc, index asc). */
function bruteRank(q: Float32Array, keys: Float32Array, dim: number, qi: number): number[] {
  const nk = keys.length / dim;
  const norm = (a: Float32Array, r: number) => {
    let s = 0;
    for (let c = 0; c < dim; c++) s += a[r * dim + c] ** 2;
    return Math.max(Math.sqrt(s), 1e-12);
  };
  const nq = norm(q, qi);
  const sims = [...Array(nk).keys()].map((j) => {
    let s = 0;
    const nkj = norm(keys, j);
    for (let c = 0; c < dim; c++) {
      s += Math.fround(q[qi * dim + c] / nq) * Math.fround(keys[j * dim + c] / nkj);
    }
    return { j, s: Math.fround(s) };
  });
  sims.sort((a, b) => (b.s - a.s) || (a.j - b.j));
  return sims.map((x) => x.j);
}

function randomTaxonomy(rng: Rng, n: number, nSpecies: number): Taxonomy[] {
  return [...Array(n)].map(() => {
    const s = rng.int(nSpecies);
    return { order: `O${s % 3}`, family: `F${s % 5}`, genus: `G${s % 7}`, species: `S${s}` };
  });
}

function split(rng: Rng, n: number, dim: number, nSpecies: number, prefix: string): FeatureSplit {
  return {
    features: {
      encoded_image_feature: { data: rng.uniformArray(n * dim), dim },
      encoded_dna_feature: { data: rng.uniformArray(n * dim), dim },
      encoded_language_feature: { data: rng.uniformArray(n * dim), dim },
    },
    labels: randomTaxonomy(rng, n, nSpecies),
    ids: [...Array(n)].map((_, i) => `${prefix}${i}`),
  };
}

Deno.test("cosine top-k equals a full stable sort, including exact ties", async () => {
  const rng = new Rng(3);
  const dim = 4;
  const keys = rng.uniformArray(40 * dim);
  // Duplicate keys 5 and 17 and 30 => exact ties, which must go to the lower index.
  keys.set(keys.subarray(5 * dim, 6 * dim), 17 * dim);
  keys.set(keys.subarray(5 * dim, 6 * dim), 30 * dim);
  const queries = new Float32Array([...keys.subarray(5 * dim, 6 * dim), ...rng.uniformArray(6 * dim)]);
  const r = await cosineTopKCpu(queries, keys, dim, 5);
  for (let i = 0; i < 7; i++) {
    assertEquals([...r.indices.subarray(i * 5, i * 5 + 5)], bruteRank(queries, keys, dim, i).slice(0, 5));
  }
  assertEquals([...r.indices.subarray(0, 3)], [5, 17, 30]);
});

Deno.test("zero vectors give zero similarity, not NaN, and k beyond the key set pads with -1", async () => {
  const r = await cosineTopKCpu(new Float32Array([0, 0, 1, 0]), new Float32Array([0, 0, 1, 1]), 2, 3);
  assertEquals([...r.indices], [0, 1, -1, 1, 0, -1]);
  assertEquals(r.scores[0], 0);
  assertEquals(Number.isNaN(r.scores[1]), false);
  const preds = predictLabels(r.indices, 3, [
    { order: "a", family: "b", genus: "c", species: "d" },
    { order: "e", family: "f", genus: "g", species: "h" },
  ]);
  assertEquals(preds[0].species, ["d", "h"]);
});

Deno.test("micro and macro accuracy match hand counts", () => {
  const gts: Taxonomy[] = [
    { order: "A", family: "x", genus: "g1", species: "s1" },
    { order: "A", family: "x", genus: "g1", species: "s1" },
    { order: "A", family: "x", genus: "g1", species: "s1" },
    { order: "B", family: "y", genus: "g2", species: "s2" },
  ];
  const p = (sp: string[]) => ({ order: ["A"], family: ["x"], genus: ["g1"], species: sp });
  const preds = [p(["s1", "s2"]), p(["s2", "s1"]), p(["s3", "s4"]), p(["s1", "s2"])];
  const micro = topKMicroAccuracy(preds, gts, [1, 2]);
  assertEquals(micro["1"].species, 1 / 4);
  assertEquals(micro["2"].species, 3 / 4);
  assertEquals(micro["1"].order, 3 / 4);
  assertEquals(harmonicMean(0.5, 0.25), 1 / 3);
  assertEquals(harmonicMean(0.5, 0), 0);
});

Deno.test("the protocol equals brute force on random data for every query/key pair", async () => {
  const rng = new Rng(11);
  const dim = 6;
  const keys = addDerivedFeatures(split(rng, 30, dim, 8, "k"), true);
  const seen = addDerivedFeatures(split(rng, 13, dim, 8, "s"), false);
  const unseen = addDerivedFeatures(split(rng, 9, dim, 12, "u"), false); // some classes only here
  const kList = [1, 3, 5];
  const { accDict, perClassAcc } = await evaluateRetrieval(seen, unseen, keys, { kList });
  let pairs = 0;
  for (const [q, byKey] of Object.entries(accDict)) {
    for (const [k, entry] of Object.entries(byKey)) {
      const keyF = keys.features[k as keyof typeof keys.features]!;
      const qF = seen.features[q as keyof typeof seen.features]!;
      if (keyF.dim !== qF.dim) {
        assertEquals(entry, {}); // CLIBD writes {} for pairs of different widths
        continue;
      }
      pairs++;
      const keyLabels = k === "all_key_features"
        ? [...keys.labels, ...keys.labels, ...keys.labels]
        : keys.labels;
      for (const [name, s] of [["seen", seen], ["unseen", unseen]] as const) {
        const f = s.features[q as keyof typeof s.features]!;
        for (const kk of kList) {
          for (const level of LEVELS) {
            let right = 0;
            const perClass = new Map<string, [number, number]>();
            for (let i = 0; i < s.labels.length; i++) {
              const top = bruteRank(f.data, keyF.data, f.dim, i).slice(0, kk).map((j) => keyLabels[j][level]);
              const ok = top.includes(s.labels[i][level]);
              right += ok ? 1 : 0;
              const c = perClass.get(s.labels[i][level]) ?? [0, 0];
              perClass.set(s.labels[i][level], [c[0] + (ok ? 1 : 0), c[1] + 1]);
            }
            const macro = [...perClass.values()].reduce((a, [r, n]) => a + r / n, 0) / perClass.size;
            const e = entry[name];
            assertEquals(Math.abs(e.micro_acc[String(kk)][level] - right / s.labels.length) < 1e-12, true);
            assertEquals(Math.abs(e.macro_acc[String(kk)][level] - macro) < 1e-12, true);
            const pc = perClassAcc[q][k][name][String(kk)][level];
            for (const [cls, [r, n]] of perClass) assertEquals(pc[cls], r / n);
          }
        }
      }
    }
  }
  // 3 single modalities x 4 matching 768-style keys (image, dna, text, all) + averaged x 4 + concat x 1
  assertEquals(pairs, 3 * 5 + 5 + 1);
  // CLIBD's selection score: every top-1 value (pairs x seen/unseen x micro/macro x 4 levels), averaged.
  const top1: number[] = [];
  for (const byKey of Object.values(accDict)) {
    for (const e of Object.values(byKey)) {
      if (!e.seen) continue;
      for (const split of [e.seen, e.unseen]) {
        for (const t of [split.micro_acc, split.macro_acc]) top1.push(...LEVELS.map((l) => t["1"][l]));
      }
    }
  }
  assertEquals(top1.length, pairs * 2 * 2 * 4);
  const expected = top1.reduce((a, b) => a + b, 0) / top1.length;
  assertEquals(Math.abs(overallTop1(accDict) - expected) < 1e-15, true);
});

Deno.test("empty query split is a clear error", async () => {
  const rng = new Rng(1);
  const keys = split(rng, 5, 3, 3, "k");
  const empty: FeatureSplit = {
    features: { encoded_dna_feature: { data: new Float32Array(0), dim: 3 } },
    labels: [],
    ids: [],
  };
  let msg = "";
  try {
    await evaluateRetrieval(empty, keys, keys);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg.includes("seen split has no records"), true);
  assertThrows(() => topKMicroAccuracy([], [], [1]), "empty");
});
