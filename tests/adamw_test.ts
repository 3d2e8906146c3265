/**
 * AdamW vs torch.optim.AdamW over 8 steps with a OneCycleLR learning rate
 * (tests/fixtures/optim/adamw.json, float64, made by scripts/make_optim_fixtures.py),
 * and GPU vs CPU on random data.
 */
import { adamw } from "../src/ops/adamw.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, gpu } from "./helpers.ts";

interface Fixture {
  shapes: number[][];
  init: number[][];
  betas: [number, number];
  eps: number;
  weightDecay: number;
  steps: { lr: number; grads: number[][]; params: number[][] }[];
}
const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/optim/adamw.json", import.meta.url)),
) as Fixture;

/** Replays the fixture's steps on `be`, checking params after every step. */
async function replay(be: Backend, rtol: number, atol: number): Promise<void> {
  const params = fx.shapes.map((s, i) => be.tensor(fx.init[i], s));
  const ms = fx.shapes.map((s) => be.zeros(s));
  const vs = fx.shapes.map((s) => be.zeros(s));
  for (let t = 0; t < fx.steps.length; t++) {
    const st = fx.steps[t];
    fx.shapes.forEach((s, i) => {
      const g: Tensor = be.tensor(st.grads[i], s);
      adamw(be, params[i], g, ms[i], vs[i], {
        lr: st.lr,
        step: t + 1,
        beta1: fx.betas[0],
        beta2: fx.betas[1],
        eps: fx.eps,
        weightDecay: fx.weightDecay,
      });
    });
    for (let i = 0; i < params.length; i++) {
      assertClose(await be.read(params[i]), st.params[i], { rtol, atol, what: `step ${t + 1} param ${i}` });
    }
  }
}

Deno.test("adamw matches torch.optim.AdamW (f64 CPU, tight)", async () => {
  // cpu64.read converts to f32, so compare the raw f64 storage instead.
  const be = cpu64;
  const params = fx.shapes.map((s, i) => be.tensor(fx.init[i], s));
  const ms = fx.shapes.map((s) => be.zeros(s));
  const vs = fx.shapes.map((s) => be.zeros(s));
  fx.steps.forEach((st, t) => {
    fx.shapes.forEach((s, i) => {
      adamw(be, params[i], be.tensor(st.grads[i], s), ms[i], vs[i], { lr: st.lr, step: t + 1 });
      assertClose(params[i].data, st.params[i], {
        rtol: 1e-12,
        atol: 1e-14,
        what: `step ${t + 1} param ${i}`,
      });
    });
  });
  await Promise.resolve();
});

Deno.test("adamw matches torch.optim.AdamW (f32 CPU)", () => replay(cpu, 1e-5, 1e-6));
Deno.test("adamw matches torch.optim.AdamW (GPU)", async () => replay(await gpu(), 1e-5, 1e-6));

Deno.test("adamw GPU matches CPU on random data (n not a multiple of 256)", async () => {
  const be = await gpu();
  const n = 70001, rng = new Rng(3);
  const p0 = rng.normalArray(n), m0 = rng.normalArray(n, 0.1);
  const v0 = rng.uniformArray(n, 0, 0.01), g = rng.normalArray(n);
  const tensors = (b: Backend) => [p0, g, m0, v0].map((x) => b.tensor(x, [n]));
  const [gp, gg, gm, gv] = tensors(be), [cp, cg, cm, cv] = tensors(cpu);
  const opts = { lr: 3e-3, step: 5, weightDecay: 0.05 };
  adamw(be, gp, gg, gm, gv, opts);
  adamw(cpu, cp, cg, cm, cv, opts);
  assertClose(await be.read(gm), await cpu.read(cm), { what: "m", rtol: 1e-6, atol: 1e-7 });
  assertClose(await be.read(gv), await cpu.read(cv), { what: "v", rtol: 1e-6, atol: 1e-9 });
  assertClose(await be.read(gp), await cpu.read(cp), { what: "param", rtol: 1e-6, atol: 1e-6 });
});
