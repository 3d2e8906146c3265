import { l2Normalize, l2NormalizeBackward } from "../src/ops/normalize.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

for (const [n, c] of [[1, 1], [4, 5], [3, 24], [2, 131]]) {
  Deno.test(`l2Normalize forward+backward GPU matches CPU [${n},${c}] (one zero row)`, async () => {
    const be = await gpu();
    const rng = new Rng(n * 100 + c);
    const x = rng.uniformArray(n * c, -2, 2);
    x.fill(0, 0, c); // row 0 is all zeros: must stay zero (F.normalize), not NaN
    const dy = rng.uniformArray(n * c, -1, 1);
    const run = async (b: typeof be | typeof cpu) => {
      const xt = b.tensor(x, [n, c]);
      const { y, norm } = l2Normalize(b, xt);
      const dx = l2NormalizeBackward(b, b.tensor(dy, [n, c]), xt, y, norm);
      return [await b.read(y), await b.read(norm), await b.read(dx)];
    };
    const [got, want] = [await run(be), await run(cpu)];
    ["y", "norm", "dx"].forEach((what, i) => assertClose(got[i], want[i], { what, rtol: 1e-4, atol: 1e-6 }));
    for (let i = 0; i < c; i++) {
      assertClose([got[0][i]], [0], { what: "zero row stays zero", rtol: 0, atol: 1e-30 });
    }
    for (let r = 1; r < n; r++) {
      let s = 0;
      for (let i = 0; i < c; i++) s += got[0][r * c + i] ** 2;
      assertClose([s], [1], { what: `row ${r} unit norm`, rtol: 0, atol: 1e-5 });
    }
  });
}

Deno.test("l2Normalize backward matches finite differences (f64 CPU), incl. a row below eps", () => {
  const rng = new Rng(9);
  const n = 3, c = 5;
  const x = Float64Array.from(rng.uniformArray(n * c, -2, 2));
  for (let i = 0; i < c; i++) x[2 * c + i] = 1e-14 * (i + 1); // ||row 2|| < 1e-12: the clamp is active
  const w = Float64Array.from(rng.uniformArray(n * c));
  const loss = (xv: Float64Array) => {
    const y = l2Normalize(cpu64, cpu64.tensor(xv, [n, c])).y.data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  const xt = cpu64.tensor(x, [n, c]);
  const { y, norm } = l2Normalize(cpu64, xt);
  const dx = l2NormalizeBackward(cpu64, cpu64.tensor(w, [n, c]), xt, y, norm).data;
  // Rows 0-1 with a normal step; row 2 with a step far below its norm, so the clamp stays active.
  const rows01 = [...Array(2 * c).keys()], row2 = [...Array(c).keys()].map((i) => 2 * c + i);
  for (const [i, d] of finiteDiff(loss, x, 1e-6, rows01)) {
    assertClose([dx[i]], [d], { rtol: 1e-6, atol: 1e-9, what: `dx[${i}]` });
  }
  for (const [i, d] of finiteDiff(loss, x, 1e-17, row2)) {
    assertClose([dx[i]], [d], { rtol: 1e-6, atol: 1e-3, what: `dx[${i}] (clamped row)` });
  }
});
