import { attention, attentionBackward, type AttentionOptions } from "../src/ops/attention.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

interface Case {
  b: number;
  t: number;
  heads: number;
  d: number;
  /** Number of padding keys at the end of each batch item (none: no mask). */
  pad?: number[];
}

// Sequence lengths that are not multiples of the workgroup (1, 5, 11, 20, 133, 197), head dims 4..64.
const CASES: Case[] = [
  { b: 1, t: 1, heads: 1, d: 4 },
  { b: 2, t: 5, heads: 2, d: 4, pad: [0, 2] },
  { b: 2, t: 11, heads: 3, d: 8, pad: [3, 0] },
  { b: 1, t: 20, heads: 2, d: 64 },
  { b: 2, t: 20, heads: 2, d: 16, pad: [7, 12] },
  { b: 1, t: 133, heads: 2, d: 8 },
  { b: 1, t: 197, heads: 2, d: 4, pad: [50] },
];

function maskArray(c: Case): Float32Array | undefined {
  if (!c.pad) return undefined;
  const m = new Float32Array(c.b * c.t).fill(1);
  c.pad.forEach((p, b) => m.fill(0, b * c.t + c.t - p, (b + 1) * c.t));
  return m;
}

function runBoth(be: Backend, c: Case, q: Float32Array, k: Float32Array, v: Float32Array, g: Float32Array) {
  const shape = [c.b, c.t, c.heads * c.d];
  const m = maskArray(c);
  const opts: AttentionOptions = { heads: c.heads, mask: m ? be.tensor(m, [c.b, c.t]) : undefined };
  const [qt, kt, vt] = [be.tensor(q, shape), be.tensor(k, shape), be.tensor(v, shape)];
  const f = attention(be, qt, kt, vt, opts);
  const grads = attentionBackward(be, be.tensor(g, shape), qt, kt, vt, f.out, f.lse, opts);
  return Promise.all([f.out, f.lse, grads.dq, grads.dk, grads.dv].map((t: Tensor) => be.read(t)));
}

for (const c of CASES) {
  const label = `B=${c.b} T=${c.t} H=${c.heads} D=${c.d}${c.pad ? ` pad=${c.pad}` : ""}`;
  Deno.test(`attention forward+backward GPU matches the materialised CPU reference (${label})`, async () => {
    const be = await gpu();
    const rng = new Rng(c.t * 7 + c.d);
    const n = c.b * c.t * c.heads * c.d;
    const [q, k, v, g] = [1.5, 1.5, 1, 1].map((a) => rng.uniformArray(n, -a, a));
    const got = await runBoth(be, c, q, k, v, g);
    const want = await runBoth(cpu, c, q, k, v, g);
    ["out", "lse", "dq", "dk", "dv"].forEach((what, i) =>
      assertClose(got[i], want[i], { what, rtol: 2e-4, atol: 2e-5 })
    );
  });
}

Deno.test("attention: padding keys are ignored (masked == truncated sequence, GPU)", async () => {
  const be = await gpu();
  const rng = new Rng(21);
  const t = 11, keep = 7, heads = 2, d = 8, c = heads * d;
  const [q, k, v] = [0, 1, 2].map(() => rng.uniformArray(t * c, -2, 2));
  const mask = new Float32Array(t).fill(1).fill(0, keep);
  const masked = attention(be, be.tensor(q, [1, t, c]), be.tensor(k, [1, t, c]), be.tensor(v, [1, t, c]), {
    heads,
    mask: be.tensor(mask, [1, t]),
  });
  const cut = (a: Float32Array) => be.tensor(a.slice(0, keep * c), [1, keep, c]);
  const short = attention(be, cut(q), cut(k), cut(v), { heads });
  assertClose((await be.read(masked.out)).slice(0, keep * c), await be.read(short.out), {
    what: "queries 0..6",
    rtol: 1e-5,
    atol: 1e-6,
  });
});

Deno.test("attention: a fully masked row averages v uniformly (HF adds f32 min to every score)", async () => {
  const be = await gpu();
  const rng = new Rng(4);
  const t = 5, c = 8;
  const [q, k, v] = [0, 1, 2].map(() => rng.uniformArray(t * c, -2, 2));
  const { out } = attention(be, be.tensor(q, [1, t, c]), be.tensor(k, [1, t, c]), be.tensor(v, [1, t, c]), {
    heads: 1,
    mask: be.zeros([1, t]),
  });
  const mean = new Float32Array(c);
  for (let j = 0; j < t; j++) for (let e = 0; e < c; e++) mean[e] += v[j * c + e] / t;
  const o = await be.read(out);
  for (let i = 0; i < t; i++) {
    assertClose(o.slice(i * c, (i + 1) * c), mean, { what: `row ${i}`, atol: 1e-6 });
  }
});

Deno.test("attention backward matches finite differences (f64 CPU, with a padding key)", () => {
  const rng = new Rng(5);
  const b = 2, t = 4, heads = 2, d = 3, c = heads * d, n = b * t * c;
  const shape = [b, t, c];
  const scale = 0.7;
  const mask = cpu64.tensor([1, 1, 1, 1, 1, 1, 1, 0], [b, t]);
  const opts = { heads, scale, mask };
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
