/**
 * Token-axis and column bookkeeping for the encoders: the ViT CLS token (prepend, select), position
 * embeddings (broadcast add, batch sum for the gradient) and the split/assembly of the fused ViT qkv
 * projection [N,3C] (column slices). Every GPU output element has one writer, so results are
 * deterministic.
 * @module
 */
import { assertShape, type Backend, type Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";

function dims3(op: string, x: Tensor): [number, number, number] {
  if (x.shape.length !== 3) throw new Error(`${op}: expected [B,T,C], got [${x.shape}]`);
  return [x.shape[0], x.shape[1], x.shape[2]];
}

function dims2(op: string, x: Tensor): [number, number] {
  if (x.shape.length !== 2) throw new Error(`${op}: expected [N,C], got [${x.shape}]`);
  return [x.shape[0], x.shape[1]];
}

interface TokParams {
  b?: number;
  t?: number;
  c?: number;
  w?: number;
  start?: number;
  acc?: number;
}

/** Dispatches a `tokens.wgsl` entry (src -> dst) with one thread per element of `n`. */
function unaryTok(be: GpuBackend, entry: string, n: number, src: Tensor, dst: Tensor, q: TokParams): void {
  const { groups, row } = grid1d(n);
  const params = packParams({
    n,
    row,
    b: q.b ?? 0,
    t: q.t ?? 0,
    c: q.c ?? 0,
    w: q.w ?? 0,
    start: q.start ?? 0,
    acc: q.acc ?? 0,
  });
  be.dispatch({ file: "tokens", entry }, params, [src, dst], groups);
}

/** Dispatches a `tokens_binary.wgsl` entry (a, b -> out) with one thread per element of out. */
function binaryTok(be: GpuBackend, entry: string, a: Tensor, b: Tensor, out: Tensor, bt: number[]): void {
  const { groups, row } = grid1d(out.size);
  const params = packParams({ n: out.size, row, b: bt[0], t: bt[1], c: bt[2], _p0: 0, _p1: 0, _p2: 0 });
  be.dispatch({ file: "tokens_binary", entry }, params, [a, b, out], groups);
}

/** [tok; x[b]] for every batch item: tok [C], x [B,P,C] -> [B,P+1,C] (the ViT CLS token). */
export function prependToken(be: Backend, tok: Tensor, x: Tensor): Tensor {
  const [b, p, c] = dims3("prependToken", x);
  assertShape("prependToken", "tok", tok, [c]);
  const out = be.empty([b, p + 1, c]);
  if (be.kind === "cpu") {
    const td = tok.data, xd = x.data, od = out.data;
    for (let bi = 0; bi < b; bi++) {
      const o = bi * (p + 1) * c;
      for (let i = 0; i < c; i++) od[o + i] = td[i];
      for (let i = 0; i < p * c; i++) od[o + c + i] = xd[bi * p * c + i];
    }
  } else binaryTok(be as GpuBackend, "prepend", tok, x, out, [b, p + 1, c]);
  return out;
}

/** Gradient of {@link prependToken}: dy [B,P+1,C] -> dTok [C] (summed over the batch), dx [B,P,C]. */
export function prependTokenBackward(be: Backend, dy: Tensor): { dTok: Tensor; dx: Tensor } {
  const [b, t, c] = dims3("prependTokenBackward", dy);
  if (t < 1) throw new Error("prependTokenBackward: dy has no tokens");
  const dTok = be.empty([c]), dx = be.empty([b, t - 1, c]);
  if (be.kind === "cpu") {
    const gd = dy.data, td = dTok.data, xd = dx.data;
    for (let i = 0; i < c; i++) {
      let s = 0;
      for (let bi = 0; bi < b; bi++) s += gd[bi * t * c + i];
      td[i] = s;
    }
    for (let bi = 0; bi < b; bi++) {
      for (let i = 0; i < (t - 1) * c; i++) xd[bi * (t - 1) * c + i] = gd[bi * t * c + c + i];
    }
  } else {
    const g = be as GpuBackend;
    unaryTok(g, "prepend_backward_tok", c, dy, dTok, { b, t, c });
    unaryTok(g, "prepend_backward_dx", dx.size, dy, dx, { b, t, c });
  }
  return { dTok, dx };
}

/** x [B,T,C] -> x[:, t, :] as [B,C] (CLS pooling with t = 0). */
export function selectToken(be: Backend, x: Tensor, t: number): Tensor {
  const [b, tt, c] = dims3("selectToken", x);
  if (!(t >= 0 && t < tt)) throw new Error(`selectToken: token ${t} outside [0, ${tt})`);
  const out = be.empty([b, c]);
  if (be.kind === "cpu") {
    const xd = x.data, od = out.data;
    for (let bi = 0; bi < b; bi++) for (let i = 0; i < c; i++) od[bi * c + i] = xd[(bi * tt + t) * c + i];
  } else unaryTok(be as GpuBackend, "select_token", out.size, x, out, { b, t: tt, c, start: t });
  return out;
}

/** Gradient of {@link selectToken}: dy [B,C] -> [B,T,C], dy at token t and zero elsewhere. */
export function selectTokenBackward(be: Backend, dy: Tensor, tCount: number, t: number): Tensor {
  const [b, c] = dims2("selectTokenBackward", dy);
  if (!(t >= 0 && t < tCount)) throw new Error(`selectTokenBackward: token ${t} outside [0, ${tCount})`);
  const dx = be.empty([b, tCount, c]);
  if (be.kind === "cpu") {
    const gd = dy.data, o = dx.data;
    o.fill(0);
    for (let bi = 0; bi < b; bi++) for (let i = 0; i < c; i++) o[(bi * tCount + t) * c + i] = gd[bi * c + i];
  } else unaryTok(be as GpuBackend, "select_backward", dx.size, dy, dx, { b, t: tCount, c, start: t });
  return dx;
}

/** x [B,T,C] + y [T,C] broadcast over the batch (position embeddings). */
export function addBroadcast(be: Backend, x: Tensor, y: Tensor): Tensor {
  const [b, t, c] = dims3("addBroadcast", x);
  assertShape("addBroadcast", "y", y, [t, c]);
  const out = be.empty(x.shape);
  if (be.kind === "cpu") {
    const xd = x.data, yd = y.data, od = out.data, tc = t * c;
    for (let i = 0; i < od.length; i++) od[i] = xd[i] + yd[i % tc];
  } else binaryTok(be as GpuBackend, "add_broadcast", x, y, out, [b, t, c]);
  return out;
}

/** x [B,T,C] -> [T,C], the sum over the batch (gradient of {@link addBroadcast} for y). */
export function sumBatch(be: Backend, x: Tensor): Tensor {
  const [b, t, c] = dims3("sumBatch", x);
  const out = be.empty([t, c]);
  if (be.kind === "cpu") {
    const xd = x.data, od = out.data, tc = t * c;
    for (let i = 0; i < tc; i++) {
      let s = 0;
      for (let bi = 0; bi < b; bi++) s += xd[bi * tc + i];
      od[i] = s;
    }
  } else unaryTok(be as GpuBackend, "sum_batch", t * c, x, out, { b, t, c });
  return out;
}

function checkColumns(op: string, c: number, start: number, width: number): void {
  if (!(start >= 0 && width >= 0 && start + width <= c)) {
    throw new Error(`${op}: columns [${start}, ${start + width}) outside [0, ${c})`);
  }
}

/** x [N,C] -> x[:, start:start+width] as [N,width] (splits the fused qkv output). */
export function sliceColumns(be: Backend, x: Tensor, start: number, width: number): Tensor {
  const [n, c] = dims2("sliceColumns", x);
  checkColumns("sliceColumns", c, start, width);
  const out = be.empty([n, width]);
  if (be.kind === "cpu") {
    const xd = x.data, od = out.data;
    for (let r = 0; r < n; r++) for (let i = 0; i < width; i++) od[r * width + i] = xd[r * c + start + i];
  } else unaryTok(be as GpuBackend, "slice_columns", out.size, x, out, { c, w: width, start });
  return out;
}

/**
 * In place: dst[:, start:start+w] = src (or += src with `accumulate`), src [N,w], dst [N,C]. Assembles the
 * gradient of the fused qkv output from dq, dk, dv.
 */
export function copyColumns(be: Backend, src: Tensor, dst: Tensor, start: number, accumulate = false): void {
  const [n, w] = dims2("copyColumns", src);
  const [n2, c] = dims2("copyColumns", dst);
  if (n !== n2) throw new Error(`copyColumns: ${n} source rows vs ${n2} destination rows`);
  checkColumns("copyColumns", c, start, w);
  if (be.kind === "cpu") {
    const sd = src.data, dd = dst.data;
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < w; i++) {
        const o = r * c + start + i;
        dd[o] = accumulate ? dd[o] + sd[r * w + i] : sd[r * w + i];
      }
    }
  } else {unaryTok(be as GpuBackend, "copy_columns", src.size, src, dst, {
      c,
      w,
      start,
      acc: accumulate ? 1 : 0,
    });}
}
