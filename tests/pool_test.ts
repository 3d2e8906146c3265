import { meanPool, meanPoolBackward } from "../src/ops/pool.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

for (const [b, t, c] of [[1, 1, 1], [2, 5, 3], [3, 20, 17], [2, 133, 24]]) {
  Deno.test(`meanPool forward+backward GPU matches CPU [${b},${t},${c}]`, async () => {
    const be = await gpu();
    const rng = new Rng(b * t * c);
    const x = rng.uniformArray(b * t * c), dy = rng.uniformArray(b * c);
    const run = async (k: typeof be | typeof cpu) => [
      await k.read(meanPool(k, k.tensor(x, [b, t, c]))),
      await k.read(meanPoolBackward(k, k.tensor(dy, [b, c]), t)),
    ];
    const [got, want] = [await run(be), await run(cpu)];
    assertClose(got[0], want[0], { what: "mean", rtol: 1e-5, atol: 1e-6 });
    assertClose(got[1], want[1], { what: "dx", rtol: 1e-6, atol: 1e-7 });
  });
}

Deno.test("meanPool backward matches finite differences (f64 CPU)", () => {
  const rng = new Rng(2);
  const b = 2, t = 3, c = 4;
  const x = Float64Array.from(rng.uniformArray(b * t * c));
  const w = Float64Array.from(rng.uniformArray(b * c));
  const loss = (xv: Float64Array) => {
    const y = meanPool(cpu64, cpu64.tensor(xv, [b, t, c])).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  const dx = meanPoolBackward(cpu64, cpu64.tensor(w, [b, c]), t).data;
  for (const [i, d] of finiteDiff(loss, x, 1e-6)) {
    assertClose([dx[i]], [d], { rtol: 1e-7, atol: 1e-9, what: `dx[${i}]` });
  }
});
