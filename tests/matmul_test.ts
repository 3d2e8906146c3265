import { throws as assertThrows } from "node:assert";
import { matmul, matmulAccumulate, matmulGelu, type MatmulOptions } from "../src/ops/matmul.ts";
import { gelu } from "../src/ops/elementwise.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, gpu } from "./helpers.ts";

/** f32 accumulation over K terms of size ~1: allow ~K ulps of drift. */
function tol(K: number): { rtol: number; atol: number } {
  return { rtol: 1e-4, atol: 2e-6 * Math.max(K, 8) };
}

/** Naive triple loop in f64, independent of the op's CPU branch (which reorders loops). */
function naive(
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  o: { transA?: boolean; transB?: boolean; alpha?: number; bias?: Float32Array },
): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        s += (o.transA ? a[k * M + m] : a[m * K + k]) * (o.transB ? b[n * K + k] : b[k * N + n]);
      }
      out[m * N + n] = (o.alpha ?? 1) * s + (o.bias ? o.bias[n] : 0);
    }
  }
  return out;
}

interface Case {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

function operands(be: Backend, c: Case, a: Float32Array, b: Float32Array): [Tensor, Tensor] {
  return [
    be.tensor(a, c.transA ? [c.K, c.M] : [c.M, c.K]),
    be.tensor(b, c.transB ? [c.N, c.K] : [c.K, c.N]),
  ];
}

Deno.test("matmul CPU reference matches a naive triple loop", async () => {
  const rng = new Rng(3);
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    const c: Case = { M: 5, N: 6, K: 7, transA, transB };
    const a = rng.uniformArray(c.M * c.K), b = rng.uniformArray(c.K * c.N), bias = rng.uniformArray(c.N);
    const [ta, tb] = operands(cpu64, c, a, b);
    const got = matmul(cpu64, ta, tb, { transA, transB, alpha: -0.7, bias: cpu64.tensor(bias, [c.N]) });
    const want = naive(a, b, c.M, c.N, c.K, { transA, transB, alpha: -0.7, bias });
    assertClose(await cpu64.read(got), want, { rtol: 1e-6, atol: 1e-6, what: `trans ${transA},${transB}` });
  }
});

// [M, N, K]. The last three take the vec4 kernel in every layout (all dims multiples of 4) with
// M and N not multiples of its 8x8 per-thread block, so the clamped edge rows/columns are hit.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [33, 65, 17],
  [197, 64, 72],
  [4, 8, 12],
  [12, 20, 16],
  [68, 36, 40],
];
for (const [M, N, K] of SHAPES) {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    Deno.test(`matmul GPU matches CPU ${M}x${N}x${K} transA=${transA} transB=${transB}`, async () => {
      const be = await gpu();
      const rng = new Rng(M * 1000 + N * 10 + K + (transA ? 7 : 0) + (transB ? 13 : 0));
      const c: Case = { M, N, K, transA, transB };
      const a = rng.uniformArray(M * K), b = rng.uniformArray(K * N), bias = rng.uniformArray(N);
      const opts = (x: Backend): MatmulOptions => ({ transA, transB, alpha: 1.5, bias: x.tensor(bias, [N]) });
      const [ga, gb] = operands(be, c, a, b), [ca, cb] = operands(cpu, c, a, b);
      const t = tol(K);
      assertClose(
        await be.read(matmul(be, ga, gb, { transA, transB })),
        await cpu.read(matmul(cpu, ca, cb, { transA, transB })),
        {
          ...t,
          what: "plain",
        },
      );
      assertClose(
        await be.read(matmul(be, ga, gb, opts(be))),
        await cpu.read(matmul(cpu, ca, cb, opts(cpu))),
        {
          ...t,
          what: "alpha+bias",
        },
      );
    });
  }
}

Deno.test("batched 3-D matmul matches per-batch 2-D products", async () => {
  const be = await gpu();
  const rng = new Rng(11);
  // The first size takes the scalar kernel, the second the vec4 kernel.
  for (const [B, M, N, K] of [[3, 9, 6, 10], [2, 12, 20, 8]]) {
    for (const [transA, transB] of [[false, false], [true, true], [false, true], [true, false]]) {
      const a = rng.uniformArray(B * M * K), b = rng.uniformArray(B * K * N);
      const as = transA ? [B, K, M] : [B, M, K], bs = transB ? [B, N, K] : [B, K, N];
      const got = matmul(be, be.tensor(a, as), be.tensor(b, bs), { transA, transB });
      if (got.shape.join() !== [B, M, N].join()) throw new Error(`shape [${got.shape}]`);
      const want = new Float64Array(B * M * N);
      for (let z = 0; z < B; z++) {
        want.set(
          naive(a.subarray(z * M * K, (z + 1) * M * K), b.subarray(z * K * N, (z + 1) * K * N), M, N, K, {
            transA,
            transB,
          }),
          z * M * N,
        );
      }
      assertClose(await be.read(got), want, {
        ...tol(K),
        what: `batched ${B}x${M}x${N}x${K} trans ${transA},${transB}`,
      });
    }
  }
});

Deno.test("matmul flattens leading dims of a with a 2-D b and keeps them in the output", async () => {
  const be = await gpu();
  const rng = new Rng(12);
  const a = rng.uniformArray(2 * 5 * 8), w = rng.uniformArray(6 * 8);
  const got = matmul(be, be.tensor(a, [2, 5, 8]), be.tensor(w, [6, 8]), { transB: true });
  if (got.shape.join() !== "2,5,6") throw new Error(`shape [${got.shape}]`);
  assertClose(await be.read(got), naive(a, w, 10, 6, 8, { transB: true }), tol(8));
});

for (const [M, N, K] of [[7, 13, 5], [33, 64, 16]]) {
  Deno.test(`matmulGelu GPU matches CPU and equals gelu(matmul) (${M}x${N}x${K})`, async () => {
    const be = await gpu();
    const rng = new Rng(21 + M);
    const a = rng.uniformArray(M * K, -1, 1), b = rng.uniformArray(K * N, -1, 1), bias = rng.uniformArray(N);
    const run = (x: Backend) =>
      matmulGelu(x, x.tensor(a, [M, K]), x.tensor(b, [N, K]), { transB: true, bias: x.tensor(bias, [N]) });
    const g = run(be), c = run(cpu);
    assertClose(await be.read(g.pre), await cpu.read(c.pre), { ...tol(K), what: "pre" });
    assertClose(await be.read(g.out), await cpu.read(c.out), { ...tol(K), what: "out" });
    // The fused epilogue must agree with the standalone GELU kernel applied to `pre`.
    assertClose(await be.read(g.out), await be.read(gelu(be, g.pre)), {
      rtol: 1e-6,
      atol: 1e-7,
      what: "fused",
    });
  });
}

for (const [transA, transB] of [[true, false], [false, false], [false, true]]) {
  Deno.test(`matmulAccumulate adds alpha*op(a)op(b) in place (transA=${transA} transB=${transB})`, async () => {
    const be = await gpu();
    const rng = new Rng(31);
    const c: Case = { M: 12, N: 20, K: 33, transA, transB };
    const a = rng.uniformArray(c.M * c.K), b = rng.uniformArray(c.K * c.N), c0 = rng.uniformArray(c.M * c.N);
    const [ga, gb] = operands(be, c, a, b);
    const gc = be.tensor(c0, [c.M, c.N]);
    matmulAccumulate(be, ga, gb, gc, { transA, transB, alpha: 0.5 });
    matmulAccumulate(be, ga, gb, gc, { transA, transB, alpha: 0.5 });
    const prod = naive(a, b, c.M, c.N, c.K, { transA, transB });
    const want = c0.map((v, i) => v + prod[i]);
    assertClose(await be.read(gc), want, { ...tol(c.K), what: "gpu" });
    const [ca, cb] = operands(cpu, c, a, b);
    const cc = cpu.tensor(c0, [c.M, c.N]);
    matmulAccumulate(cpu, ca, cb, cc, { transA, transB, alpha: 1 });
    assertClose(await cpu.read(cc), want, { ...tol(c.K), what: "cpu" });
  });
}

Deno.test("matmul rejects mismatched shapes with a clear message", () => {
  const a = cpu.zeros([3, 4]), b = cpu.zeros([5, 6]);
  assertThrows(() => matmul(cpu, a, b), /inner dimensions differ/);
  assertThrows(() => matmul(cpu, a, cpu.zeros([4, 6]), { bias: cpu.zeros([5]) }), /bias/);
  assertThrows(() => matmulAccumulate(cpu, a, cpu.zeros([4, 6]), cpu.zeros([3, 5])), /c has shape/);
});
