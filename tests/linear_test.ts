import {
  linearBackward,
  linearForward,
  type LinearGrads,
  type LinearParams,
  mergeLora,
  unmergeLora,
} from "../src/ops/linear.ts";
import { matmulAccumulate } from "../src/ops/matmul.ts";
import { sumRowsAccumulate } from "../src/ops/reduce.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu, sampleIndices } from "./helpers.ts";

const [N, IN, OUT, R] = [5, 7, 6, 3];
const S = 0.75;

interface Host {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  a: Float32Array;
  bb: Float32Array;
  dy: Float32Array;
}

function host(seed: number): Host {
  const rng = new Rng(seed);
  return {
    x: rng.uniformArray(N * IN),
    w: rng.uniformArray(OUT * IN),
    b: rng.uniformArray(OUT),
    a: rng.uniformArray(R * IN),
    bb: rng.uniformArray(OUT * R),
    dy: rng.uniformArray(N * OUT),
  };
}

function params(be: Backend, h: Host, withLora = true): LinearParams {
  return {
    weight: be.tensor(h.w, [OUT, IN]),
    bias: be.tensor(h.b, [OUT]),
    ...(withLora ? { loraA: be.tensor(h.a, [R, IN]), loraB: be.tensor(h.bb, [OUT, R]), loraScale: S } : {}),
  };
}

function zeroGrads(be: Backend): Required<LinearGrads> {
  return {
    weight: be.zeros([OUT, IN]),
    bias: be.zeros([OUT]),
    loraA: be.zeros([R, IN]),
    loraB: be.zeros([OUT, R]),
  };
}

Deno.test("linear forward equals x W^T + b + s (x A^T) B^T (f64 naive loops)", async () => {
  const h = host(1);
  const y = await cpu64.read(linearForward(cpu64, cpu64.tensor(h.x, [N, IN]), params(cpu64, h)));
  const want = new Float64Array(N * OUT);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OUT; o++) {
      let v = h.b[o];
      for (let i = 0; i < IN; i++) v += h.x[n * IN + i] * h.w[o * IN + i];
      for (let r = 0; r < R; r++) {
        let u = 0;
        for (let i = 0; i < IN; i++) u += h.x[n * IN + i] * h.a[r * IN + i];
        v += S * u * h.bb[o * R + r];
      }
      want[n * OUT + o] = v;
    }
  }
  assertClose(y, want, { rtol: 1e-6, atol: 1e-6 });
});

Deno.test("linear backward with LoRA matches central finite differences (f64 CPU)", () => {
  const h = host(2);
  const dy = Float64Array.from(h.dy);
  // Scalar loss L = sum(dy * y), so dL/dy = dy and every gradient is checkable by finite differences.
  const loss = (v: Record<keyof Host, Float64Array | Float32Array>): number => {
    const y = linearForward(cpu64, cpu64.tensor(v.x, [N, IN]), {
      weight: cpu64.tensor(v.w, [OUT, IN]),
      bias: cpu64.tensor(v.b, [OUT]),
      loraA: cpu64.tensor(v.a, [R, IN]),
      loraB: cpu64.tensor(v.bb, [OUT, R]),
      loraScale: S,
    }).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += dy[i] * y[i];
    return s;
  };
  const g = zeroGrads(cpu64);
  const p = params(cpu64, h);
  const dx = linearBackward(cpu64, cpu64.tensor(h.x, [N, IN]), cpu64.tensor(dy, [N, OUT]), p, g, true)!;
  const checks: [keyof Host, Tensor][] = [["x", dx], ["w", g.weight], ["b", g.bias], ["a", g.loraA], [
    "bb",
    g.loraB,
  ]];
  for (const [key, grad] of checks) {
    const base = { ...h } as Record<keyof Host, Float64Array | Float32Array>;
    const v = Float64Array.from(h[key]);
    const fd = finiteDiff((xv) => loss({ ...base, [key]: xv }), v, 1e-6, sampleIndices(v.length, 12));
    for (const [i, d] of fd) {
      assertClose([grad.data[i]], [d], { rtol: 1e-6, atol: 1e-8, what: `d${key}[${i}]` });
    }
  }
});

Deno.test("linear backward accumulates (two calls give twice the gradient)", async () => {
  const h = host(3);
  const g = zeroGrads(cpu64);
  const p = params(cpu64, h);
  const x = cpu64.tensor(h.x, [N, IN]), dy = cpu64.tensor(h.dy, [N, OUT]);
  linearBackward(cpu64, x, dy, p, g, false);
  const once = await Promise.all([g.weight, g.bias, g.loraA, g.loraB].map((t) => cpu64.read(t)));
  linearBackward(cpu64, x, dy, p, g, false);
  const twice = await Promise.all([g.weight, g.bias, g.loraA, g.loraB].map((t) => cpu64.read(t)));
  twice.forEach((t, i) => assertClose(t, once[i].map((v) => 2 * v), { rtol: 1e-6, atol: 1e-7 }));
});

for (const withLora of [true, false]) {
  Deno.test(`linear forward/backward GPU matches CPU (lora=${withLora}, 3-D input)`, async () => {
    const be = await gpu();
    const h = host(4);
    const run = (x: Backend) => {
      const p = params(x, h, withLora);
      const g = zeroGrads(x);
      const xt = x.tensor(h.x, [1, N, IN]);
      const y = linearForward(x, xt, p);
      const dx = linearBackward(x, xt, x.tensor(h.dy, [1, N, OUT]), p, g, true)!;
      if (y.shape.join() !== `1,${N},${OUT}` || dx.shape.join() !== `1,${N},${IN}`) {
        throw new Error(`shapes y [${y.shape}] dx [${dx.shape}]`);
      }
      return Promise.all([y, dx, g.weight, g.bias, g.loraA, g.loraB].map((t) => x.read(t)));
    };
    const [gs, cs] = [await run(be), await run(cpu)];
    const names = ["y", "dx", "dW", "db", "dA", "dB"];
    gs.forEach((v, i) => assertClose(v, cs[i], { rtol: 1e-4, atol: 1e-5, what: names[i] }));
  });
}

Deno.test("frozen base: no weight-gradient kernel runs, LoRA grads still flow", async () => {
  const be = await gpu();
  const h = host(5);
  const p = params(be, h);
  const x = be.tensor(h.x, [N, IN]), dy = be.tensor(h.dy, [N, OUT]);
  const dispatches = (f: () => void): number => {
    const before = be.stats.dispatches;
    f();
    return be.stats.dispatches - before;
  };
  const count = (grads: LinearGrads): number => dispatches(() => linearBackward(be, x, dy, p, grads, false));
  const full = zeroGrads(be);
  const frozen = { loraA: be.zeros([R, IN]), loraB: be.zeros([OUT, R]) };
  const nFull = count(full), nFrozen = count(frozen);
  // The full layer must cost exactly the dW and db kernels more than the frozen one.
  const nWeight = dispatches(() => matmulAccumulate(be, dy, x, be.zeros([OUT, IN]), { transA: true }));
  const nBias = dispatches(() => sumRowsAccumulate(be, dy, be.zeros([OUT])));
  if (nFull - nFrozen !== nWeight + nBias) {
    throw new Error(`dispatches: full ${nFull}, frozen ${nFrozen}, dW ${nWeight}, db ${nBias}`);
  }
  if (count({}) !== 0) throw new Error("no grads and no dx must dispatch nothing");
  assertClose(await be.read(frozen.loraA), await be.read(full.loraA), { what: "dA" });
  assertClose(await be.read(frozen.loraB), await be.read(full.loraB), { what: "dB" });
});

Deno.test("mergeLora makes the plain layer equal the LoRA layer; unmerge restores W", async () => {
  for (const be of [await gpu(), cpu] as Backend[]) {
    const h = host(6);
    const p = params(be, h);
    const x = be.tensor(h.x, [N, IN]);
    const yLora = await be.read(linearForward(be, x, p));
    mergeLora(be, p);
    const yMerged = await be.read(linearForward(be, x, { weight: p.weight, bias: p.bias }));
    assertClose(yMerged, yLora, { what: `${be.kind} merged` });
    unmergeLora(be, p);
    assertClose(await be.read(p.weight), h.w, { rtol: 1e-5, atol: 1e-6, what: `${be.kind} unmerged` });
  }
});

Deno.test("linear GPU matches CPU on tiny-config shapes (vec4 kernels: in 32, out 96, r 4)", async () => {
  const be = await gpu();
  const [T, I, O, Rk] = [10, 32, 96, 4];
  const rng = new Rng(8);
  const v = {
    x: rng.uniformArray(T * I),
    w: rng.uniformArray(O * I),
    b: rng.uniformArray(O),
    a: rng.uniformArray(Rk * I),
    bb: rng.uniformArray(O * Rk),
    dy: rng.uniformArray(T * O),
  };
  const run = (x: Backend) => {
    const p: LinearParams = {
      weight: x.tensor(v.w, [O, I]),
      bias: x.tensor(v.b, [O]),
      loraA: x.tensor(v.a, [Rk, I]),
      loraB: x.tensor(v.bb, [O, Rk]),
      loraScale: 1,
    };
    const g = {
      weight: x.zeros([O, I]),
      bias: x.zeros([O]),
      loraA: x.zeros([Rk, I]),
      loraB: x.zeros([O, Rk]),
    };
    const xt = x.tensor(v.x, [2, T / 2, I]);
    const y = linearForward(x, xt, p);
    const dx = linearBackward(x, xt, x.tensor(v.dy, [2, T / 2, O]), p, g, true)!;
    return Promise.all([y, dx, g.weight, g.bias, g.loraA, g.loraB].map((t) => x.read(t)));
  };
  const [gs, cs] = [await run(be), await run(cpu)];
  const names = ["y", "dx", "dW", "db", "dA", "dB"];
  gs.forEach((r, i) => assertClose(r, cs[i], { rtol: 1e-4, atol: 1e-4, what: names[i] }));
});
