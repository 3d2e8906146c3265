/**
 * Row-range copies of row-major tensors (the chunks of a contrastive batch). On the
 * GPU these are buffer-to-buffer copies recorded in order with the dispatches, so
 * no kernel is needed; on the CPU they are typed-array copies.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";

function rowWidth(t: Tensor): number {
  return t.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** Rows [start, start + count) of `x` as a new tensor of shape [count, ...x.shape[1:]]. */
export function sliceRows(be: Backend, x: Tensor, start: number, count: number): Tensor {
  if (start < 0 || count < 0 || start + count > x.shape[0]) {
    throw new Error(`sliceRows: rows [${start}, ${start + count}) outside [0, ${x.shape[0]})`);
  }
  const w = rowWidth(x);
  const out = be.empty([count, ...x.shape.slice(1)], x.dtype);
  if (be.kind === "cpu") out.data.set(x.data.subarray(start * w, (start + count) * w));
  else if (count > 0) (be as GpuBackend).copy(x, out, start * w, 0, count * w);
  return out;
}

/** Copies all rows of `src` into `dst` starting at row `dstRow` (in place). */
export function writeRows(be: Backend, src: Tensor, dst: Tensor, dstRow: number): void {
  const w = rowWidth(dst);
  if (rowWidth(src) !== w) {
    throw new Error(`writeRows: row widths differ ([${src.shape}] into [${dst.shape}])`);
  }
  if (dstRow < 0 || dstRow + src.shape[0] > dst.shape[0]) {
    throw new Error(`writeRows: rows [${dstRow}, ${dstRow + src.shape[0]}) outside [0, ${dst.shape[0]})`);
  }
  if (be.kind === "cpu") dst.data.set(src.data, dstRow * w);
  else if (src.shape[0] > 0) (be as GpuBackend).copy(src, dst, 0, dstRow * w, src.shape[0] * w);
}
