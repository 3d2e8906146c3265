import { attention, attentionBackward, type AttentionOptions } from "../src/ops/attention.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assert } from "./assert.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

interface Case {
  b: number;
  t: number;
  heads: number;
  d: number;
  pad?: number[];
  p: number;
  rowOffset?: number;
}

// Odd sequence lengths (not multiples of the workgroup), masks, and a nonzero batch offset.
const CASES: Case[] = [
  { b: 2, t: 5, heads: 2, d: 4, pad: [0, 2], p: 0.1 },
  { b: 2, t: 11, heads: 3, d: 8, pad: [3, 0], p: 0.3, rowOffset: 5 },
  { b: 2, t: 20, heads: 2, d: 16, pad: [7, 12], p: 0.5 },
  { b: 1, t: 133, heads: 2, d: 8, p: 0.1, rowOffset: 1 },
];

function maskArray(c: { b: number; t: number; pad?: number[] }): Float32Array | undefined {
  if (!c.pad) return undefined;
  const m = new Float32Array(c.b * c.t).fill(1);
  c.pad.forEach((p, b) => m.fill(0, b * c.t + c.t - p, (b + 1) * c.t));
  return m;
}

function run(
  be: Backend,
  c: Case,
  seed: number,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  g: Float32Array,
  withDropout = true,
) {
  const shape = [c.b, c.t, c.heads * c.d];
  const m = maskArray(c);
  const opts: AttentionOptions = {
    heads: c.heads,
    mask: m ? be.tensor(m, [c.b, c.t]) : undefined,
    dropout: withDropout ? { p: c.p, seed, rowOffset: c.rowOffset } : undefined,
  };
  const [qt, kt, vt] = [be.tensor(q, shape), be.tensor(k, shape), be.tensor(v, shape)];
  const f = attention(be, qt, kt, vt, opts);
  const grads = attentionBackward(be, be.tensor(g, shape), qt, kt, vt, f.out, f.lse, opts);
  return Promise.all([f.out, f.lse, grads.dq, grads.dk, grads.dv].map((t: Tensor) => be.read(t)));
}

for (const c of CASES) {
  const label = `B=${c.b} T=${c.t} H=${c.heads} D=${c.d} p=${c.p}${c.pad ? ` pad=${c.pad}` : ""}`;
  Deno.test(`attention dropout: GPU forward+backward == CPU reference (${label})`, async () => {
    const be = await gpu();
    const rng = new Rng(c.t * 13 + c.d);
    const n = c.b * c.t * c.heads * c.d;
    const [q, k, v, g] = [1.5, 1.5, 1, 1].map((a) => rng.uniformArray(n, -a, a));
    const got = await run(be, c, 1234, q, k, v, g);
    const want = await run(cpu, c, 1234, q, k, v, g);
    ["out", "lse", "dq", "dk", "dv"].forEach((what, i) =>
      assertClose(got[i], want[i], { what, rtol: 2e-4, atol: 2e-5 })
    );
    // Dropout changed the output (same lse: the normaliser is the undropped one).
    const plain = await run(cpu, c, 1234, q, k, v, g, false);
    assertClose(want[1], plain[1], { rtol: 0, atol: 0, what: "lse unchanged" });
    let diff = 0;
    for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs(want[0][i] - plain[0][i]));
    assert(diff > 1e-3, `dropout p=${c.p} did not change the output`);
  });
}

Deno.test("attention dropout p = 0 equals no dropout exactly (CPU and GPU)", async () => {
  const be = await gpu();
  const c: Case = { b: 2, t: 11, heads: 3, d: 8, pad: [3, 0], p: 0 };
  const rng = new Rng(9);
  const n = c.b * c.t * c.heads * c.d;
  const [q, k, v, g] = [1.5, 1.5, 1, 1].map((a) => rng.uniformArray(n, -a, a));
  for (const b of [cpu, be]) {
    const a = await run(b, c, 77, q, k, v, g, true);
    const z = await run(b, c, 77, q, k, v, g, false);
    a.forEach((x, i) => assertClose(x, z[i], { rtol: 0, atol: 0, what: `${b.kind} #${i}` }));
  }
});

Deno.test("attention dropout: a batch offset reproduces the full batch's mask (CPU)", async () => {
  const rng = new Rng(4);
  const b = 3, t = 6, heads = 2, d = 4, c = heads * d;
  const x = [0, 1, 2].map(() => rng.uniformArray(b * t * c, -1, 1));
  const full = attention(cpu, ...x.map((a) => cpu.tensor(a, [b, t, c])) as [Tensor, Tensor, Tensor], {
    heads,
    dropout: { p: 0.4, seed: 3 },
  });
  const tail = attention(
    cpu,
    ...x.map((a) => cpu.tensor(a.slice(t * c), [b - 1, t, c])) as [Tensor, Tensor, Tensor],
    { heads, dropout: { p: 0.4, seed: 3, rowOffset: 1 } },
  );
  assertClose(await cpu.read(tail.out), (await cpu.read(full.out)).slice(t * c), { rtol: 0, atol: 0 });
});

Deno.test("attention dropout backward matches finite differences (f64 CPU, fixed seed, padding key)", () => {
  const rng = new Rng(15);
  const b = 2, t = 5, heads = 2, d = 3, c = heads * d, n = b * t * c;
  const shape = [b, t, c];
  const mask = cpu64.tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 0], [b, t]);
  const opts: AttentionOptions = { heads, scale: 0.7, mask, dropout: { p: 0.3, seed: 99, rowOffset: 2 } };
  const inputs = [0, 1, 2].map(() => Float64Array.from(rng.uniformArray(n, -1.5, 1.5)));
  const w = Float64Array.from(rng.uniformArray(n));
  const loss = (xs: Float64Array[]) => {
    const [q, k, v] = xs.map((a) => cpu64.tensor(a, shape));
    const out = attention(cpu64, q, k, v, opts).out.data;
    let s = 0;
    for (let i = 0; i < n; i++) s += w[i] * out[i];
    return s;
  };
  const [q, k, v] = inputs.map((a) => cpu64.tensor(a, shape));
  const f = attention(cpu64, q, k, v, opts);
  const g = attentionBackward(cpu64, cpu64.tensor(w, shape), q, k, v, f.out, f.lse, opts);
  [g.dq, g.dk, g.dv].forEach((grad, which) => {
    const fd = finiteDiff((x) => loss(inputs.map((a, i) => (i === which ? x : a))), inputs[which], 1e-6);
    for (const [i, dval] of fd) {
      assertClose([grad.data[i]], [dval], { rtol: 1e-6, atol: 1e-9, what: `${"qkv"[which]} grad [${i}]` });
    }
  });
});
