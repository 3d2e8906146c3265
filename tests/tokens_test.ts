import {
  addBroadcast,
  copyColumns,
  prependToken,
  prependTokenBackward,
  selectToken,
  selectTokenBackward,
  sliceColumns,
  sumBatch,
} from "../src/ops/tokens.ts";
import type { Backend, HostArray } from "../src/tensor.ts";
import type { CpuBackend } from "../src/cpu_backend.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

/** Runs every token op on one backend with the same inputs and returns all results in a fixed order. */
async function allOps(be: Backend, b: number, p: number, c: number, seed: number): Promise<HostArray[]> {
  const rng = new Rng(seed);
  const t = p + 1;
  const tok = be.tensor(rng.uniformArray(c), [c]);
  const x = be.tensor(rng.uniformArray(b * p * c), [b, p, c]);
  const dy = be.tensor(rng.uniformArray(b * t * c), [b, t, c]);
  const pos = be.tensor(rng.uniformArray(t * c), [t, c]);
  const dSel = be.tensor(rng.uniformArray(b * c), [b, c]);
  const qkv = be.tensor(rng.uniformArray(b * t * 3 * c), [b * t, 3 * c]);
  const dst = be.tensor(rng.uniformArray(b * t * 3 * c), [b * t, 3 * c]);
  const back = prependTokenBackward(be, dy);
  const sel = Math.min(2, t - 1);
  const k = sliceColumns(be, qkv, c, c);
  copyColumns(be, k, dst, 2 * c); // overwrite the v block with k
  copyColumns(be, sliceColumns(be, qkv, 0, c), dst, 0, true); // accumulate q into the q block
  const outs = [
    prependToken(be, tok, x),
    back.dTok,
    back.dx,
    selectToken(be, dy, sel),
    selectTokenBackward(be, dSel, t, sel),
    addBroadcast(be, dy, pos),
    sumBatch(be, dy),
    k,
    dst,
  ];
  return await Promise.all(outs.map((o) => be.read(o)));
}

const NAMES = [
  "prepend",
  "dTok",
  "dx",
  "select",
  "selectBackward",
  "addBroadcast",
  "sumBatch",
  "slice",
  "copy",
];

for (const [b, p, c] of [[1, 1, 1], [2, 4, 5], [3, 9, 7], [2, 196, 12]]) {
  Deno.test(`token ops GPU match CPU (B=${b}, P=${p}, C=${c})`, async () => {
    const be = await gpu();
    const [got, want] = [await allOps(be, b, p, c, b * 100 + p), await allOps(cpu, b, p, c, b * 100 + p)];
    NAMES.forEach((what, i) => assertClose(got[i], want[i], { what, rtol: 1e-6, atol: 1e-7 }));
  });
}

Deno.test("token ops: known layout on a hand-written example (CPU)", async () => {
  // tok = [9, 9]; x = [[1,2],[3,4]] for one batch item -> [[9,9],[1,2],[3,4]].
  const out = prependToken(cpu, cpu.tensor([9, 9], [2]), cpu.tensor([1, 2, 3, 4], [1, 2, 2]));
  assertClose(await cpu.read(out), [9, 9, 1, 2, 3, 4], { what: "prepend", atol: 0, rtol: 1e-9 });
  const s = sliceColumns(cpu, cpu.tensor([1, 2, 3, 4, 5, 6], [2, 3]), 1, 2);
  assertClose(await cpu.read(s), [2, 3, 5, 6], { what: "slice", atol: 0, rtol: 1e-9 });
});

/** Checks d/dx sum(w * f(x)) from the backward against central differences. */
function checkGrad(
  what: string,
  f: (be: CpuBackend, x: Float64Array) => ArrayLike<number>,
  x: Float64Array,
  analytic: (w: Float64Array) => ArrayLike<number>,
  outSize: number,
  seed: number,
): void {
  const w = Float64Array.from(new Rng(seed).uniformArray(outSize));
  const loss = (xv: Float64Array) => {
    const y = f(cpu64, xv);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  const g = analytic(w);
  for (const [i, d] of finiteDiff(loss, x, 1e-6)) {
    assertClose([g[i]], [d], { rtol: 1e-7, atol: 1e-9, what: `${what}[${i}]` });
  }
}

Deno.test("token op backwards match finite differences (f64 CPU)", () => {
  const rng = new Rng(17);
  const b = 2, p = 3, c = 4, t = p + 1;
  const tok = Float64Array.from(rng.uniformArray(c)), x = Float64Array.from(rng.uniformArray(b * p * c));
  const pos = Float64Array.from(rng.uniformArray(t * c)), h = Float64Array.from(rng.uniformArray(b * t * c));
  const T = (a: Float64Array, s: number[]) => cpu64.tensor(a, s);
  // prependToken w.r.t. the token and w.r.t. x
  checkGrad(
    "dTok",
    (k, v) => prependToken(k, T(v, [c]), T(x, [b, p, c])).data,
    tok,
    (w) => prependTokenBackward(cpu64, T(w, [b, t, c])).dTok.data,
    b * t * c,
    1,
  );
  checkGrad(
    "dx",
    (k, v) => prependToken(k, T(tok, [c]), T(v, [b, p, c])).data,
    x,
    (w) => prependTokenBackward(cpu64, T(w, [b, t, c])).dx.data,
    b * t * c,
    2,
  );
  // selectToken
  checkGrad(
    "dSelect",
    (k, v) => selectToken(k, T(v, [b, t, c]), 1).data,
    h,
    (w) => selectTokenBackward(cpu64, T(w, [b, c]), t, 1).data,
    b * c,
    3,
  );
  // addBroadcast w.r.t. the position table: its gradient is sumBatch of the upstream gradient
  checkGrad(
    "dPos",
    (k, v) => addBroadcast(k, T(h, [b, t, c]), T(v, [t, c])).data,
    pos,
    (w) => sumBatch(cpu64, T(w, [b, t, c])).data,
    b * t * c,
    4,
  );
  // sliceColumns: its gradient is copyColumns of the upstream gradient into zeros
  const qkv = Float64Array.from(rng.uniformArray(b * 3 * c));
  checkGrad(
    "dSlice",
    (k, v) => sliceColumns(k, T(v, [b, 3 * c]), c, c).data,
    qkv,
    (w) => {
      const d = cpu64.zeros([b, 3 * c]);
      copyColumns(cpu64, T(w, [b, c]), d, c);
      return d.data;
    },
    b * c,
    5,
  );
});
