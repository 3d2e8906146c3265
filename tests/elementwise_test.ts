import { add, axpy, gelu, geluBackward, scale } from "../src/ops/elementwise.ts";
import { Rng } from "../src/util/rng.ts";
import { erf } from "../src/util/math.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu, sampleIndices } from "./helpers.ts";

Deno.test("erf matches known values and symmetry", () => {
  // Values of erf from Abramowitz & Stegun table 7.1.
  assertClose([erf(0), erf(0.5), erf(1), erf(2), erf(3)], [
    0,
    0.5204998778,
    0.8427007929,
    0.9953222650,
    0.9999779095,
  ], {
    rtol: 1e-9,
    atol: 1e-10,
  });
  for (const x of [0.1, 1.3, 2.7, 4.2]) assertClose([erf(-x)], [-erf(x)], { rtol: 1e-14, atol: 0 });
});

for (const n of [1, 255, 257, 4099]) {
  Deno.test(`elementwise GPU matches CPU (n=${n})`, async () => {
    const be = await gpu();
    const rng = new Rng(n);
    const a = rng.uniformArray(n, -4, 4), b = rng.uniformArray(n, -2, 2);
    const [ga, gb] = [be.tensor(a, [n]), be.tensor(b, [n])];
    const [ca, cb] = [cpu.tensor(a, [n]), cpu.tensor(b, [n])];
    assertClose(await be.read(add(be, ga, gb)), await cpu.read(add(cpu, ca, cb)), { what: "add" });
    assertClose(await be.read(scale(be, ga, -1.5)), await cpu.read(scale(cpu, ca, -1.5)), { what: "scale" });
    assertClose(await be.read(gelu(be, ga)), await cpu.read(gelu(cpu, ca)), { what: "gelu", atol: 1e-6 });
    assertClose(await be.read(geluBackward(be, ga, gb)), await cpu.read(geluBackward(cpu, ca, cb)), {
      what: "gelu backward",
      atol: 1e-6,
    });
    axpy(be, ga, gb, 0.25);
    axpy(cpu, ca, cb, 0.25);
    assertClose(await be.read(ga), await cpu.read(ca), { what: "axpy" });
  });
}

Deno.test("gelu backward matches finite differences (f64 CPU)", async () => {
  const rng = new Rng(7);
  const n = 50;
  const x = Float64Array.from(rng.uniformArray(n, -3, 3));
  const w = Float64Array.from(rng.uniformArray(n, -1, 1));

  const f = (xv: Float64Array) => {
    const y = gelu(cpu64, cpu64.tensor(xv, [n])).data;
    let s = 0;
    for (let i = 0; i < n; i++) s += w[i] * y[i];
    return s;
  };
  const fd = finiteDiff(f, x, 1e-6, sampleIndices(n, 20));
  const g = geluBackward(cpu64, cpu64.tensor(x, [n]), cpu64.tensor(w, [n])).data;
  for (const [i, d] of fd) assertClose([g[i]], [d], { rtol: 1e-6, atol: 1e-8, what: `dgelu[${i}]` });
  await Promise.resolve();
});
