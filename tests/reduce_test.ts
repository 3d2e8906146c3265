import { max, mean, sum, sumOfSquares, sumRows, sumRowsAccumulate } from "../src/ops/reduce.ts";
import type { Backend } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";

/** max is exact: the result must be one of the inputs, bit for bit. */
function assertExact(got: number, want: number, what: string): void {
  if (got !== want) throw new Error(`${what}: got ${got}, expected exactly ${want}`);
}

/** f64 sums written out here, independent of the op's CPU branch. */
function colSums(x: Float32Array, N: number, C: number): Float64Array {
  const out = new Float64Array(C);
  for (let r = 0; r < N; r++) for (let c = 0; c < C; c++) out[c] += x[r * C + c];
  return out;
}

for (const [N, C] of [[1, 1], [5, 3], [63, 65], [300, 70], [4500, 9]]) {
  Deno.test(`sumRows GPU and CPU match f64 column sums [${N},${C}]`, async () => {
    const be = await gpu();
    const x = new Rng(N + C).uniformArray(N * C);
    const want = colSums(x, N, C);
    const tol = { rtol: 1e-5, atol: 1e-6 * Math.sqrt(N) * 10 };
    for (const b of [be, cpu] as Backend[]) {
      assertClose(await b.read(sumRows(b, b.tensor(x, [N, C]))), want, { ...tol, what: b.kind });
      const acc = b.tensor(new Float32Array(C).fill(1), [C]);
      sumRowsAccumulate(b, b.tensor(x, [N, C]), acc);
      assertClose(await b.read(acc), want.map((v) => v + 1), { ...tol, what: `${b.kind} accumulate` });
    }
  });
}

for (const n of [1, 255, 257, 1025, 70001]) {
  Deno.test(`sum/mean/max GPU match f64 references (n=${n})`, async () => {
    const be = await gpu();
    const rng = new Rng(n);
    const x = rng.uniformArray(n, -3, 2);
    if (n > 3) x[n - 2] = 7.5; // the maximum sits near the end, in the last partial block
    let s = 0, m = -Infinity;
    for (const v of x) {
      s += v;
      m = Math.max(m, v);
    }
    const tol = { rtol: 1e-5, atol: 1e-6 * Math.sqrt(n) * 10 };
    for (const b of [be, cpu] as Backend[]) {
      const t = b.tensor(x, [n]);
      assertClose(await b.read(sum(b, t)), [s], { ...tol, what: `${b.kind} sum` });
      assertClose(await b.read(mean(b, t)), [s / n], { ...tol, what: `${b.kind} mean` });
      assertExact((await b.read(max(b, t)))[0], m, `${b.kind} max`);
    }
  });
}

Deno.test("max of all-negative input is the largest negative value", async () => {
  const be = await gpu();
  const x = new Float32Array(300).map((_, i) => -1000 - i);
  assertExact((await be.read(max(be, be.tensor(x, [300]))))[0], -1000, "max");
});

Deno.test("sumOfSquares over a list of tensors matches f64 (sizes not multiples of 256)", async () => {
  const be = await gpu();
  const rng = new Rng(9);
  const sizes = [3, 1, 257, 2000, 1030];
  const arrays = sizes.map((n) => rng.uniformArray(n));
  let want = 0;
  for (const a of arrays) for (const v of a) want += v * v;
  for (const b of [be, cpu] as Backend[]) {
    const ts = arrays.map((a) => b.tensor(a, [a.length]));
    assertClose(await b.read(sumOfSquares(b, ts)), [want], { rtol: 1e-5, atol: 1e-6, what: b.kind });
  }
  assertClose(await be.read(sumOfSquares(be, [])), [0], { what: "empty list" });
  assertClose(await be.read(sum(be, be.zeros([0]))), [0], { what: "empty sum" });
});

Deno.test("tree reductions stay accurate over 2^20 equal terms (a serial f32 sum is 1% off)", async () => {
  const be = await gpu();
  const n = 1 << 20;
  const v = Math.fround(0.1);
  const want = n * v; // exact in f64
  const x = be.tensor(new Float32Array(n).fill(v), [n]);
  assertClose(await be.read(sum(be, x)), [want], { rtol: 1e-6, atol: 0, what: "sum" });
  assertClose(await be.read(mean(be, x)), [v], { rtol: 1e-6, atol: 0, what: "mean" });
  assertClose(await be.read(sumOfSquares(be, [x, x])), [2 * n * v * v], {
    rtol: 1e-6,
    atol: 0,
    what: "sumsq",
  });
  const rows = 40000;
  const col = await be.read(sumRows(be, x.reshape([n / 16, 16])));
  assertClose(col, new Float64Array(16).fill((n / 16) * v), {
    rtol: 1e-6,
    atol: 0,
    what: "sumRows 2^16 rows",
  });
  // 40000 rows: four passes of the row tree, the last one over a partial chunk.
  const y = be.tensor(new Float32Array(rows * 3).fill(v), [rows, 3]);
  assertClose(await be.read(sumRows(be, y)), new Float64Array(3).fill(rows * v), {
    rtol: 1e-6,
    atol: 0,
    what: "sumRows 40000 rows",
  });
});
