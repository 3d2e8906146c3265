/**
 * Reductions: column sums (`sumRows`, bias gradients), `sum`, `mean`, `max`, and the sum of
 * squares over a list of tensors (`sumOfSquares`, the global gradient norm squared).
 *
 * GPU kernels reduce as trees (kernels/reduce.wgsl: 1024-element blocks with a shared-memory
 * tree; kernels/reduce_rows.wgsl: chunks of rows), so f32 rounding error grows with log n
 * rather than n. The CPU reference accumulates in f64.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { MAX_GROUPS } from "../gpu/grid.ts";

/** Elements reduced by one workgroup of kernels/reduce.wgsl (256 threads x 4). */
const BLOCK = 1024;
/**
 * Rows summed serially by one thread of kernels/reduce_rows.wgsl before the next tree level.
 * 16 rather than 128: with 128 the serial f32 runs left 1.5e-6 relative error on 65536 rows;
 * the extra passes cost ~40 us each.
 */
const ROW_CHUNK = 16;

type FlatKind = "sum" | "sumsq" | "max_all";

/** Workgroup grid for `blocks` workgroups, folded into 2-D past the per-dimension limit. */
function blockGrid(blocks: number): { groups: [number, number]; nx: number } {
  if (blocks <= MAX_GROUPS) return { groups: [blocks, 1], nx: blocks };
  return { groups: [MAX_GROUPS, Math.ceil(blocks / MAX_GROUPS)], nx: MAX_GROUPS };
}

/** One pass: partials of `x` (n elements) into out[offset ...]; returns the partial count. */
function flatPass(
  be: GpuBackend,
  kind: FlatKind,
  x: Tensor,
  n: number,
  out: Tensor,
  offset: number,
  scale: number,
): number {
  const blocks = Math.ceil(n / BLOCK);
  const { groups, nx } = blockGrid(blocks);
  be.dispatch(
    { file: "reduce", entry: kind },
    packParams({ n, scale, nx, outOffset: offset }, ["scale"]),
    [x, out],
    groups,
  );
  return blocks;
}

/** Reduces `n` values of `x` to a [1] tensor: first pass `first`, then sum (or max) of partials. */
function gpuFlat(be: GpuBackend, first: FlatKind, x: Tensor, n: number, scale: number): Tensor {
  let cur = x, kind = first;
  for (;;) {
    const blocks = Math.ceil(n / BLOCK);
    const out = be.empty([blocks]);
    flatPass(be, kind, cur, n, out, 0, blocks === 1 ? scale : 1);
    if (cur !== x) be.release(cur);
    if (blocks === 1) return out;
    cur = out;
    n = blocks;
    kind = first === "max_all" ? "max_all" : "sum";
  }
}

function cpuSum(x: ArrayLike<number>, square: boolean): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += square ? x[i] * x[i] : x[i];
  return s;
}

/** Column sums: x [N, C] (leading dims flattened into N) -> [C]. */
export function sumRows(be: Backend, x: Tensor): Tensor {
  const C = x.shape[x.shape.length - 1] ?? 1;
  const out = be.zeros([C]);
  sumRowsAccumulate(be, x, out);
  return out;
}

/** In place: out [C] += column sums of x [N, C] (bias-gradient accumulation). */
export function sumRowsAccumulate(be: Backend, x: Tensor, out: Tensor): void {
  const C = x.shape[x.shape.length - 1] ?? 1;
  if (out.size !== C) throw new Error(`sumRowsAccumulate: out has shape [${out.shape}], expected [${C}]`);
  const N = C === 0 ? 0 : x.size / C;
  if (N === 0 || C === 0) return;
  if (be.kind === "cpu") {
    const d = x.data, o = out.data, acc = new Float64Array(C);
    for (let r = 0; r < N; r++) {
      const off = r * C;
      for (let c = 0; c < C; c++) acc[c] += d[off + c];
    }
    for (let c = 0; c < C; c++) o[c] += acc[c];
    return;
  }
  const g = be as GpuBackend;
  let cur = x, rows = N;
  for (;;) {
    const chunks = Math.ceil(rows / ROW_CHUNK);
    const last = chunks === 1;
    const dst = last ? out : g.empty([chunks, C]);
    g.dispatch(
      { file: "reduce_rows", entry: last ? "accumulate" : "store" },
      packParams({ rows, cols: C, chunk: ROW_CHUNK, _pad: 0 }),
      [cur, dst],
      [Math.ceil(C / 64), chunks],
    );
    if (cur !== x) g.release(cur);
    if (last) return;
    cur = dst;
    rows = chunks;
  }
}

/** Sum of all elements -> [1]. */
export function sum(be: Backend, x: Tensor): Tensor {
  if (be.kind === "cpu") return be.tensor([cpuSum(x.data, false)], [1]);
  if (x.size === 0) return be.zeros([1]);
  return gpuFlat(be as GpuBackend, "sum", x, x.size, 1);
}

/** Mean of all elements -> [1] (NaN for an empty tensor, like torch). */
export function mean(be: Backend, x: Tensor): Tensor {
  if (x.size === 0) return be.tensor([NaN], [1]);
  if (be.kind === "cpu") return be.tensor([cpuSum(x.data, false) / x.size], [1]);
  return gpuFlat(be as GpuBackend, "sum", x, x.size, 1 / x.size);
}

/** Largest element -> [1]. NaN handling on the GPU follows WGSL `max` (unspecified). */
export function max(be: Backend, x: Tensor): Tensor {
  if (x.size === 0) throw new Error("max: empty tensor");
  if (be.kind === "cpu") {
    const d = x.data;
    let m = -Infinity;
    for (let i = 0; i < d.length; i++) if (d[i] > m || Number.isNaN(d[i])) m = d[i];
    return be.tensor([m], [1]);
  }
  return gpuFlat(be as GpuBackend, "max_all", x, x.size, 1);
}

/**
 * Sum of squares of all elements of all tensors -> [1] (global gradient norm squared, for
 * clipping). On the GPU every tensor writes its block partials into one shared buffer, which
 * is then reduced once: one dispatch per tensor plus a few.
 */
export function sumOfSquares(be: Backend, tensors: readonly Tensor[]): Tensor {
  if (be.kind === "cpu") {
    let s = 0;
    for (const t of tensors) s += cpuSum(t.data, true);
    return be.tensor([s], [1]);
  }
  const g = be as GpuBackend;
  const total = tensors.reduce((n, t) => n + Math.ceil(t.size / BLOCK), 0);
  if (total === 0) return g.zeros([1]);
  const partials = g.empty([total]);
  let offset = 0;
  for (const t of tensors) {
    if (t.size > 0) offset += flatPass(g, "sumsq", t, t.size, partials, offset, 1);
  }
  const out = gpuFlat(g, "sum", partials, total, 1);
  g.release(partials);
  return out;
}
