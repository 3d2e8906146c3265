/**
 * Cosine top-k search: GPU vs the brute-force CPU reference on random data, adversarial ties
 * (duplicate keys, all-equal scores, zero vectors), k larger than the key count, chunk
 * boundaries at odd sizes, Q not a multiple of the workgroup tile, D not a multiple of 4.
 * The CPU reference itself is checked against a direct sort of all scores.
 */
import { cosineTopK, type TopKResult } from "../src/ops/topk.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";

/** Splits rows of x [n, d] into chunks of the given sizes on `be`. */
function chunks(be: Backend, x: Float32Array, d: number, sizes: number[]): Tensor[] {
  let r = 0;
  return sizes.map((s) => {
    const t = be.tensor(x.subarray(r * d, (r + s) * d), [s, d]);
    r += s;
    return t;
  });
}

async function both(
  q: Float32Array,
  keys: Float32Array,
  d: number,
  sizes: number[],
  k: number,
): Promise<{ g: TopKResult; c: TopKResult }> {
  const be = await gpu();
  const nq = q.length / d;
  const g = await cosineTopK(be, be.tensor(q, [nq, d]), chunks(be, keys, d, sizes), k);
  const c = await cosineTopK(cpu, cpu.tensor(q, [nq, d]), chunks(cpu, keys, d, sizes), k);
  return { g, c };
}

/** Exact cosine in f64 (independent of topk.ts). */
function cosine(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0, na = 0, nb = 0;
  for (let t = 0; t < d; t++) {
    s += a[i * d + t] * b[j * d + t];
    na += a[i * d + t] ** 2;
    nb += b[j * d + t] ** 2;
  }
  return s / (Math.max(Math.sqrt(na), 1e-12) * Math.max(Math.sqrt(nb), 1e-12));
}

/** Full sort of every key per query (score desc, index asc): the definition of the result. */
function sortReference(q: Float32Array, keys: Float32Array, d: number, k: number): TopKResult {
  const nq = q.length / d, nk = keys.length / d;
  const indices = new Int32Array(nq * k).fill(-1), scores = new Float32Array(nq * k).fill(-Infinity);
  for (let i = 0; i < nq; i++) {
    const all = Array.from({ length: nk }, (_, j) => ({ j, s: cosine(q, i, keys, j, d) }));
    all.sort((x, y) => y.s - x.s || x.j - y.j);
    all.slice(0, k).forEach((e, r) => {
      indices[i * k + r] = e.j;
      scores[i * k + r] = e.s;
    });
  }
  return { indices, scores };
}

/** Scores with the -Infinity padding mapped to a finite sentinel (assertClose needs finite pairs). */
function padded(s: Float32Array): Float64Array {
  return Float64Array.from(s, (x) => (x === -Infinity ? -1e30 : x));
}

/**
 * GPU result agrees with the reference: scores close, and where an index differs the two
 * keys' exact cosines are within float rounding (a near-tie legitimately ordered either way).
 */
function assertAgree(g: TopKResult, c: TopKResult, q: Float32Array, keys: Float32Array, d: number): void {
  assertClose(padded(g.scores), padded(c.scores), { rtol: 1e-5, atol: 2e-6, what: "scores" });
  for (let i = 0; i < g.indices.length; i++) {
    if (g.indices[i] === c.indices[i]) continue;
    const qi = Math.floor(i / (g.indices.length / (q.length / d)));
    const sg = cosine(q, qi, keys, g.indices[i], d), sc = cosine(q, qi, keys, c.indices[i], d);
    if (Math.abs(sg - sc) > 2e-6) {
      throw new Error(`slot ${i}: gpu key ${g.indices[i]} (${sg}) vs cpu key ${c.indices[i]} (${sc})`);
    }
  }
}

Deno.test("CPU reference equals a full sort (random, ties, zero rows)", async () => {
  const rng = new Rng(1), d = 6;
  const keys = rng.normalArray(40 * d);
  keys.copyWithin(7 * d, 3 * d, 4 * d); // key 7 duplicates key 3
  keys.fill(0, 11 * d, 12 * d); // key 11 is zero
  const q = rng.normalArray(5 * d);
  q.set(keys.subarray(3 * d, 4 * d), 0); // query 0 hits the duplicate pair exactly
  q.fill(0, 4 * d, 5 * d); // query 4 is zero: every score 0, indices 0..k-1
  const r = await cosineTopK(cpu, cpu.tensor(q, [5, d]), chunks(cpu, keys, d, [13, 27]), 6);
  const ref = sortReference(q, keys, d, 6);
  assertClose(padded(r.scores), padded(ref.scores), { rtol: 1e-6, atol: 1e-7 });
  if (r.indices.join() !== ref.indices.join()) throw new Error(`indices ${r.indices} vs ${ref.indices}`);
  if (r.indices[0] !== 3 || r.indices[1] !== 7) throw new Error("duplicate keys must come out as 3, 7");
});

for (
  const [nq, nk, d, k, sizes] of [
    [37, 300, 24, 5, [300]],
    [130, 257, 13, 10, [1, 100, 156]], // D % 4 != 0, a one-row chunk, Q not a multiple of 32
    [3, 1000, 64, 1, [333, 334, 333]],
    [1030, 50, 8, 3, [50]], // enough queries that no key split is used
    [3, 70000, 4, 10, [70000]], // many key tiles per split on every adapter (the scan loops)
  ] as const
) {
  Deno.test(`GPU matches CPU: Q=${nq} K=${nk} D=${d} k=${k} chunks ${sizes}`, async () => {
    const rng = new Rng(nq * 7 + nk);
    const q = rng.normalArray(nq * d), keys = rng.normalArray(nk * d);
    const { g, c } = await both(q, keys, d, [...sizes], k);
    assertAgree(g, c, q, keys, d);
  });
}

Deno.test("GPU ties: duplicate and power-of-two-scaled keys across chunks, all-equal scores", async () => {
  const rng = new Rng(2), d = 8, nk = 90;
  const keys = rng.normalArray(nk * d);
  // Key 5's direction also at 40 (duplicate, other chunk), 41 (x2) and 88 (x0.5): exact equal cosines.
  for (const [j, f] of [[40, 1], [41, 2], [88, 0.5]]) {
    for (let t = 0; t < d; t++) keys[j * d + t] = f * keys[5 * d + t];
  }
  const q = new Float32Array(3 * d);
  q.set(keys.subarray(5 * d, 6 * d), 0);
  q.fill(1, d, 2 * d); // query 1: the all-ones direction
  for (let j = 60; j < 86; j++) keys.fill(1, j * d, (j + 1) * d); // keys 60..85 identical: a 26-way tie
  q.set(keys.subarray(3 * d, 4 * d), 2 * d);
  const { g, c } = await both(q, keys, d, [33, 27, 30], 10);
  if (g.indices.join() !== c.indices.join()) throw new Error(`indices\n gpu ${g.indices}\n cpu ${c.indices}`);
  assertClose(padded(g.scores), padded(c.scores), { rtol: 1e-5, atol: 1e-6 });
  if (g.indices.slice(0, 4).join() !== "5,40,41,88") throw new Error(`tie order ${g.indices.slice(0, 4)}`);
  if (g.indices.slice(10, 20).join() !== "60,61,62,63,64,65,66,67,68,69") {
    throw new Error(`all-equal order ${g.indices.slice(10, 20)}`);
  }
});

Deno.test("GPU zero vectors score 0 (no NaN); k > number of keys pads with -1 / -Infinity", async () => {
  const rng = new Rng(4), d = 12;
  const keys = rng.normalArray(7 * d);
  keys.fill(0, 2 * d, 3 * d); // key 2 is zero
  const q = rng.normalArray(2 * d);
  q.fill(0, d, 2 * d); // query 1 is zero
  const { g, c } = await both(q, keys, d, [4, 0, 3], 10);
  if (g.indices.join() !== c.indices.join()) throw new Error(`indices\n gpu ${g.indices}\n cpu ${c.indices}`);
  for (const s of g.scores) if (Number.isNaN(s)) throw new Error("NaN score");
  assertClose(padded(g.scores), padded(c.scores), { rtol: 1e-5, atol: 1e-6 });
  // Query 1 (zero): all seven keys score 0, in index order, then three empty slots.
  if (g.indices.slice(10).join() !== "0,1,2,3,4,5,6,-1,-1,-1") {
    throw new Error(`zero query ${g.indices.slice(10)}`);
  }
  if (g.scores.slice(10, 17).some((s) => s !== 0) || g.scores.slice(17).some((s) => s !== -Infinity)) {
    throw new Error(`zero query scores ${g.scores.slice(10)}`);
  }
  // Query 0: the zero key scores exactly 0.
  const pos = g.indices.slice(0, 10).indexOf(2);
  if (pos < 0 || g.scores[pos] !== 0) throw new Error(`zero key: slot ${pos} score ${g.scores[pos]}`);
});

Deno.test("cosineTopK rejects bad k and mismatched chunks", async () => {
  const be = await gpu();
  const q = be.tensor(new Float32Array(8), [2, 4]);
  for (
    const [keys, k] of [[[be.zeros([3, 4])], 11], [[be.zeros([3, 4])], 0], [[be.zeros([3, 5])], 2]] as const
  ) {
    let threw = false;
    try {
      await cosineTopK(be, q, [...keys], k);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`expected an error for k=${k}, key shape [${keys[0].shape}]`);
  }
});
