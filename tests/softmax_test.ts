import { softmax, softmaxBackward } from "../src/ops/softmax.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

// Odd widths, a width above the workgroup, and more rows than one grid dimension holds (65535).
const SHAPES: number[][] = [[1, 1], [3, 7], [5, 133], [2, 4, 65], [65537, 3]];

for (const shape of SHAPES) {
  Deno.test(`softmax forward+backward GPU matches CPU [${shape}]`, async () => {
    const be = await gpu();
    const n = shape.reduce((a, b) => a * b, 1);
    const rng = new Rng(n);
    // Large logits check the max subtraction (exp(80) overflows f32).
    const x = rng.uniformArray(n, -4, 4).map((v, i) => (i % 5 === 0 ? v + 80 : v));
    const dy = rng.uniformArray(n, -1, 1);
    const run = async (b: typeof be | typeof cpu) => {
      const y = softmax(b, b.tensor(x, shape));
      return [await b.read(y), await b.read(softmaxBackward(b, y, b.tensor(dy, shape)))];
    };
    const [got, want] = [await run(be), await run(cpu)];
    assertClose(got[0], want[0], { what: "y", rtol: 1e-4, atol: 1e-6 });
    assertClose(got[1], want[1], { what: "dx", rtol: 1e-4, atol: 1e-6 });
    const y = got[0];
    const c = shape[shape.length - 1];
    for (let r = 0; r < Math.min(n / c, 100); r++) {
      let s = 0;
      for (let i = 0; i < c; i++) s += y[r * c + i];
      assertClose([s], [1], { what: `row ${r} sum`, rtol: 0, atol: 1e-5 });
    }
  });
}

Deno.test("softmax backward matches finite differences (f64 CPU)", () => {
  const rng = new Rng(3);
  const n = 3, c = 6;
  const x = Float64Array.from(rng.uniformArray(n * c, -3, 3));
  const w = Float64Array.from(rng.uniformArray(n * c));
  const loss = (xv: Float64Array) => {
    const y = softmax(cpu64, cpu64.tensor(xv, [n, c])).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  const y = softmax(cpu64, cpu64.tensor(x, [n, c]));
  const dx = softmaxBackward(cpu64, y, cpu64.tensor(w, [n, c])).data;
  for (const [i, d] of finiteDiff(loss, x, 1e-6)) {
    assertClose([dx[i]], [d], { rtol: 1e-6, atol: 1e-9, what: `dx[${i}]` });
  }
});
