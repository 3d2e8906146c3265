/**
 * Cross-entropy and CLIP loss: vs PyTorch (tests/fixtures/optim/{cross_entropy,clip_loss}.json,
 * float64 autograd, made by scripts/make_optim_fixtures.py), vs central finite differences on
 * the f64 CPU backend, and GPU vs CPU on random inputs (sizes not multiples of the workgroup).
 */
import { clipLoss, clipLossFromSimilarity, crossEntropy } from "../src/ops/loss.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu, sampleIndices } from "./helpers.ts";

const fixture = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`./fixtures/optim/${name}.json`, import.meta.url)));

/** Rows of x [n, d] scaled to unit length. */
function normalizeRows(x: Float32Array | Float64Array, n: number, d: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) y[i * d + j] = x[i * d + j] * inv;
  }
  return y;
}

/** a b^T on the host in f64 (independent of matmul.ts). */
function hostABt(a: ArrayLike<number>, b: ArrayLike<number>, n: number, d: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k] * b[j * d + k];
      g[i * n + j] = s;
    }
  }
  return g;
}

// ------------------------------------------------------------------ cross-entropy

Deno.test("crossEntropy matches torch.nn.functional.cross_entropy", async () => {
  const f = fixture("cross_entropy");
  const cases: [Backend, number, number][] = [[cpu64, 1e-12, 1e-14], [cpu, 1e-5, 1e-7], [
    await gpu(),
    1e-5,
    1e-6,
  ]];
  for (const [be, rtol, atol] of cases) {
    const { loss, dlogits } = crossEntropy(
      be,
      be.tensor(f.logits, [f.n, f.v]),
      be.tensor(f.targets, [f.n], "i32"),
    );
    const [l, d] = be === cpu64 ? [loss.data, dlogits.data] : [await be.read(loss), await be.read(dlogits)];
    assertClose(l, [f.loss], { rtol, atol, what: `${be.name} loss` });
    assertClose(d, f.dlogits, { rtol, atol, what: `${be.name} dlogits` });
  }
});

Deno.test("crossEntropy gradient matches finite differences (f64 CPU)", () => {
  const rng = new Rng(11), n = 4, v = 9;
  const x = Float64Array.from(rng.normalArray(n * v, 2));
  const t = cpu64.tensor([3, 0, 8, 5], [n], "i32");
  const lossOf = (xv: Float64Array) => crossEntropy(cpu64, cpu64.tensor(xv, [n, v]), t).loss.data[0];
  const d = crossEntropy(cpu64, cpu64.tensor(x, [n, v]), t).dlogits.data;
  for (const [i, fd] of finiteDiff(lossOf, x, 1e-6)) {
    assertClose([d[i]], [fd], { rtol: 1e-6, atol: 1e-9, what: `dlogits[${i}]` });
  }
});

for (const [n, v, spread] of [[37, 300, 3], [3, 1000, 2000], [130, 7, 1]] as const) {
  Deno.test(`crossEntropy GPU matches CPU (${n}x${v}, logits x${spread})`, async () => {
    const be = await gpu(), rng = new Rng(n * v);
    // spread 2000 puts logits far outside exp's f32 range: only a max-subtracted lse survives.
    const x = rng.normalArray(n * v, spread);
    const t = Int32Array.from({ length: n }, () => rng.int(v));
    const g = crossEntropy(be, be.tensor(x, [n, v]), be.tensor(t, [n], "i32"));
    const c = crossEntropy(cpu, cpu.tensor(x, [n, v]), cpu.tensor(t, [n], "i32"));
    const gl = await be.read(g.loss);
    if (!Number.isFinite(gl[0])) throw new Error(`loss is ${gl[0]}`);
    assertClose(gl, await cpu.read(c.loss), { rtol: 1e-5, what: "loss" });
    assertClose(await be.read(g.dlogits), await cpu.read(c.dlogits), {
      rtol: 1e-4,
      atol: 1e-7,
      what: "dlogits",
    });
  });
}

// ------------------------------------------------------------------ CLIP loss

interface ClipCase {
  n: number;
  d: number;
  logitScale: number;
  fixedScale: number | null;
  a: number[];
  b: number[];
  loss: number;
  da: number[];
  db: number[];
  dLogitScale: number;
}

Deno.test("clipLoss matches PyTorch (CE(S,I) + CE(S^T,I)) / 2 with autograd", async () => {
  const cases = fixture("clip_loss").cases as ClipCase[];
  const backends: [Backend, number, number][] = [[cpu64, 1e-10, 1e-13], [await gpu(), 2e-4, 2e-6]];
  for (const c of cases) {
    for (const [be, rtol, atol] of backends) {
      const opts = c.fixedScale === null ? {} : { fixedScale: c.fixedScale };
      const r = clipLoss(
        be,
        be.tensor(c.a, [c.n, c.d]),
        be.tensor(c.b, [c.n, c.d]),
        be.tensor([c.logitScale], [1]),
        opts,
      );
      const read = async (t: Tensor) => be === cpu64 ? t.data : await be.read(t);
      const what = `${be.kind} n=${c.n} fixed=${c.fixedScale}`;
      assertClose(await read(r.loss), [c.loss], { rtol, atol, what: `${what} loss` });
      assertClose(await read(r.da), c.da, { rtol, atol, what: `${what} da` });
      assertClose(await read(r.db), c.db, { rtol, atol, what: `${what} db` });
      assertClose(await read(r.dLogitScale), [c.dLogitScale], { rtol, atol, what: `${what} dLogitScale` });
    }
  }
});

Deno.test("clipLoss gradients match finite differences (f64 CPU), gradScale scales them", () => {
  const rng = new Rng(5), n = 6, d = 5;
  const a0 = normalizeRows(rng.normalArray(n * d), n, d), b0 = normalizeRows(rng.normalArray(n * d), n, d);
  const ls0 = Math.log(1 / 0.07);
  const lossAt = (a: Float64Array, b: Float64Array, ls: number) =>
    clipLoss(cpu64, cpu64.tensor(a, [n, d]), cpu64.tensor(b, [n, d]), cpu64.tensor([ls], [1])).loss.data[0];
  const gradScale = 0.25;
  const r = clipLoss(cpu64, cpu64.tensor(a0, [n, d]), cpu64.tensor(b0, [n, d]), cpu64.tensor([ls0], [1]), {
    gradScale,
  });
  const tol = { rtol: 1e-6, atol: 1e-9 };
  for (const [i, fd] of finiteDiff((a) => lossAt(a, b0, ls0), a0, 1e-6, sampleIndices(n * d, 12))) {
    assertClose([r.da.data[i] / gradScale], [fd], { ...tol, what: `da[${i}]` });
  }
  for (const [i, fd] of finiteDiff((b) => lossAt(a0, b, ls0), b0, 1e-6, sampleIndices(n * d, 12, 3))) {
    assertClose([r.db.data[i] / gradScale], [fd], { ...tol, what: `db[${i}]` });
  }
  const fdLs = finiteDiff((x) => lossAt(a0, b0, x[0]), Float64Array.of(ls0), 1e-6).get(0)!;
  assertClose([r.dLogitScale.data[0] / gradScale], [fdLs], { ...tol, what: "dLogitScale" });
  // The loss itself is not scaled.
  assertClose([r.loss.data[0]], [lossAt(a0, b0, ls0)], { rtol: 1e-14, atol: 0, what: "loss" });
});

for (const [n, ls] of [[67, 2.6593], [300, 4.6], [2000, 4.6]] as const) {
  Deno.test(`clipLossFromSimilarity GPU matches CPU (n=${n}, logit scale ${ls})`, async () => {
    const be = await gpu(), rng = new Rng(n);
    // Random cosines, with a strong diagonal like a trained model's.
    const g = rng.uniformArray(n * n, -1, 1);
    for (let i = 0; i < n; i++) g[i * n + i] = 0.9;
    const opts = { gradScale: 1 / 3 };
    const gr = clipLossFromSimilarity(be, be.tensor(g, [n, n]), be.tensor([ls], [1]), opts);
    const cr = clipLossFromSimilarity(cpu, cpu.tensor(g, [n, n]), cpu.tensor([ls], [1]), opts);
    assertClose(await be.read(gr.loss), await cpu.read(cr.loss), { rtol: 1e-5, what: "loss" });
    assertClose(await be.read(gr.dLogitScale), await cpu.read(cr.dLogitScale), {
      rtol: 1e-4,
      atol: 1e-6,
      what: "dLogitScale",
    });
    assertClose(await be.read(gr.dG), await cpu.read(cr.dG), { rtol: 1e-4, atol: 1e-8, what: "dG" });
  });
}

Deno.test("clipLoss GPU matches CPU end to end (n=45, d=24) and the host a b^T reference", async () => {
  const be = await gpu(), rng = new Rng(9), n = 45, d = 24;
  const a = Float32Array.from(normalizeRows(rng.normalArray(n * d), n, d));
  const b = Float32Array.from(normalizeRows(rng.normalArray(n * d), n, d));
  const run = (x: Backend) => clipLoss(x, x.tensor(a, [n, d]), x.tensor(b, [n, d]), x.tensor([2.6593], [1]));
  const gr = run(be), cr = run(cpu);
  // The CPU path through matmul.ts agrees with a host-side a b^T fed to the similarity stage.
  const ref = clipLossFromSimilarity(
    cpu64,
    cpu64.tensor(hostABt(a, b, n, d), [n, n]),
    cpu64.tensor([2.6593], [1]),
  );
  assertClose(await cpu.read(cr.loss), [ref.loss.data[0]], {
    rtol: 1e-6,
    what: "cpu loss vs host reference",
  });
  for (const k of ["loss", "da", "db", "dLogitScale"] as const) {
    assertClose(await be.read(gr[k]), await cpu.read(cr[k]), { rtol: 1e-4, atol: 1e-6, what: k });
  }
});
