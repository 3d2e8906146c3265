import { layerNorm, layerNormBackward } from "../src/ops/layernorm.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

// Odd widths (not multiples of 4 or of the workgroup), a width wider than the workgroup, a row count
// above the 32-row chunk of the parameter-gradient kernel, and a 3-D input (leading dims flattened).
const SHAPES: number[][] = [[1, 1], [3, 5], [7, 33], [70, 20], [2, 3, 130]];

for (const shape of SHAPES) {
  Deno.test(`layerNorm forward+backward GPU matches CPU [${shape}]`, async () => {
    const be = await gpu();
    const rng = new Rng(shape.reduce((a, b) => a * 31 + b, 7));
    const c = shape[shape.length - 1], n = shape.reduce((a, b) => a * b, 1);
    // An offset on x checks the two-pass variance.
    const x = rng.uniformArray(n, -2, 2).map((v) => v + 3);
    const gamma = rng.uniformArray(c, 0.5, 1.5), beta = rng.uniformArray(c, -0.5, 0.5);
    const dy = rng.uniformArray(n, -1, 1);
    const g0 = rng.uniformArray(c), b0 = rng.uniformArray(c);
    const eps = 1e-6;
    const run = (b: typeof be | typeof cpu) => {
      const xt = b.tensor(x, shape), gt = b.tensor(gamma, [c]);
      const f = layerNorm(b, xt, gt, b.tensor(beta, [c]), eps);
      const grads = { gamma: b.tensor(g0, [c]), beta: b.tensor(b0, [c]) };
      const dx = layerNormBackward(b, b.tensor(dy, shape), xt, gt, f.mean, f.rstd, grads);
      return Promise.all([f.y, f.mean, f.rstd, dx, grads.gamma, grads.beta].map((t) => b.read(t)));
    };
    const [got, want] = [await run(be), await run(cpu)];
    const names = ["y", "mean", "rstd", "dx", "dgamma (accumulated)", "dbeta (accumulated)"];
    names.forEach((what, i) => assertClose(got[i], want[i], { what, rtol: 1e-4, atol: 2e-5 }));
  });
}

Deno.test("layerNorm backward matches finite differences (f64 CPU)", () => {
  const rng = new Rng(11);
  const n = 4, c = 7, eps = 1e-5;
  const x = Float64Array.from(rng.uniformArray(n * c, -2, 2));
  const gamma = Float64Array.from(rng.uniformArray(c, 0.5, 1.5));
  const beta = Float64Array.from(rng.uniformArray(c, -0.5, 0.5));
  const w = Float64Array.from(rng.uniformArray(n * c));
  const loss = (xv: Float64Array, gv: Float64Array, bv: Float64Array) => {
    const y = layerNorm(cpu64, cpu64.tensor(xv, [n, c]), cpu64.tensor(gv, [c]), cpu64.tensor(bv, [c]), eps).y
      .data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  const xt = cpu64.tensor(x, [n, c]), gt = cpu64.tensor(gamma, [c]);
  const f = layerNorm(cpu64, xt, gt, cpu64.tensor(beta, [c]), eps);
  const grads = { gamma: cpu64.zeros([c]), beta: cpu64.zeros([c]) };
  const dx = layerNormBackward(cpu64, cpu64.tensor(w, [n, c]), xt, gt, f.mean, f.rstd, grads).data;
  const tol = { rtol: 1e-6, atol: 1e-8 };
  for (const [i, d] of finiteDiff((v) => loss(v, gamma, beta), x, 1e-6)) {
    assertClose([dx[i]], [d], { ...tol, what: `dx[${i}]` });
  }
  for (const [i, d] of finiteDiff((v) => loss(x, v, beta), gamma, 1e-6)) {
    assertClose([grads.gamma.data[i]], [d], { ...tol, what: `dgamma[${i}]` });
  }
  for (const [i, d] of finiteDiff((v) => loss(x, gamma, v), beta, 1e-6)) {
    assertClose([grads.beta.data[i]], [d], { ...tol, what: `dbeta[${i}]` });
  }
});

Deno.test("layerNorm output has zero mean and unit variance per row before the affine part", async () => {
  const rng = new Rng(5);
  const n = 3, c = 50;
  const be = await gpu();
  const x = rng.uniformArray(n * c, -10, 30);
  const { y } = layerNorm(
    be,
    be.tensor(x, [n, c]),
    be.tensor(new Float32Array(c).fill(1), [c]),
    be.zeros([c]),
    0,
  );
  const yd = await be.read(y);
  for (let r = 0; r < n; r++) {
    let s = 0, q = 0;
    for (let i = 0; i < c; i++) s += yd[r * c + i];
    for (let i = 0; i < c; i++) q += (yd[r * c + i] - s / c) ** 2;
    assertClose([s / c, q / c], [0, 1], { atol: 1e-5, rtol: 1e-5, what: `row ${r} moments` });
  }
});
