/**
 * Linear layer with optional LoRA: y = x W^T + b + s (x A^T) B^T, with W [out,in], A [r,in],
 * B [out,r]; its backward (accumulating into whichever gradients are given) and LoRA merging.
 * Built from `matmul.ts` and `reduce.ts`, so the CPU reference and the GPU share this code.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { matmul, matmulAccumulate } from "./matmul.ts";
import { sumRowsAccumulate } from "./reduce.ts";

/** Parameters of a linear layer (LoRA is active when both loraA and loraB are set). */
export interface LinearParams {
  /** [out, in]. */
  weight: Tensor;
  /** [out]. */
  bias?: Tensor;
  /** LoRA down-projection [r, in]. */
  loraA?: Tensor;
  /** LoRA up-projection [out, r]. */
  loraB?: Tensor;
  /** LoRA scale s (alpha / r); default 1. */
  loraScale?: number;
}

/** Gradient tensors, accumulated into in place; leave one out to skip its kernels (frozen). */
export interface LinearGrads {
  /** dW [out, in]. */
  weight?: Tensor;
  /** db [out]. */
  bias?: Tensor;
  /** dA [r, in]. */
  loraA?: Tensor;
  /** dB [out, r]. */
  loraB?: Tensor;
}

function lora(p: LinearParams): { A: Tensor; B: Tensor; s: number } | null {
  if (!p.loraA !== !p.loraB) throw new Error("linear: loraA and loraB must be given together");
  if (!p.loraA || !p.loraB) return null;
  const [r, inA] = p.loraA.shape, [outB, rB] = p.loraB.shape;
  const [out, inW] = p.weight.shape;
  if (p.loraA.shape.length !== 2 || p.loraB.shape.length !== 2 || r !== rB || inA !== inW || outB !== out) {
    throw new Error(
      `linear: LoRA shapes A [${p.loraA.shape}], B [${p.loraB.shape}] do not fit weight [${p.weight.shape}]`,
    );
  }
  return { A: p.loraA, B: p.loraB, s: p.loraScale ?? 1 };
}

/** x viewed as 2-D [N, in]. */
function rows(x: Tensor): Tensor {
  const inDim = x.shape[x.shape.length - 1];
  return x.shape.length === 2 ? x : x.reshape([x.size / inDim, inDim]);
}

/** y = x W^T + b (+ s (x A^T) B^T). x: [..., in] -> y: [..., out]. */
export function linearForward(be: Backend, x: Tensor, p: LinearParams): Tensor {
  const y = matmul(be, x, p.weight, { transB: true, bias: p.bias });
  const l = lora(p);
  if (l) {
    const u = matmul(be, x, l.A, { transB: true }); // [..., r]
    matmulAccumulate(be, u, l.B, y, { transB: true, alpha: l.s });
    be.release(u);
  }
  return y;
}

/**
 * Backward of {@link linearForward}. Accumulates dW += dy^T x, db += sum_rows dy,
 * dA += s (dy B)^T x, dB += s dy^T (x A^T) into the tensors present in `grads`, and returns
 * dx = dy W + s (dy B) A when `needDx` (else null). A frozen base (no grads.weight) runs no
 * weight-gradient kernel. LoRA gradient tensors are left untouched on a layer without LoRA.
 */
export function linearBackward(
  be: Backend,
  x: Tensor,
  dy: Tensor,
  p: LinearParams,
  grads: LinearGrads,
  needDx: boolean,
): Tensor | null {
  const x2 = rows(x), dy2 = rows(dy);
  if (x2.shape[0] !== dy2.shape[0]) {
    throw new Error(`linearBackward: x [${x.shape}] and dy [${dy.shape}] have different row counts`);
  }
  if (grads.weight) matmulAccumulate(be, dy2, x2, grads.weight, { transA: true });
  if (grads.bias) sumRowsAccumulate(be, dy2, grads.bias);
  const l = lora(p);
  let du: Tensor | null = null; // s * dy B: [N, r], the gradient reaching x A^T
  if (l) {
    if (grads.loraB) {
      const u = matmul(be, x2, l.A, { transB: true });
      matmulAccumulate(be, dy2, u, grads.loraB, { transA: true, alpha: l.s });
      be.release(u);
    }
    if (grads.loraA || needDx) {
      du = matmul(be, dy, l.B, { alpha: l.s }); // keeps dy's leading dims, like dx below
      if (grads.loraA) matmulAccumulate(be, rows(du), x2, grads.loraA, { transA: true });
    }
  }
  if (!needDx) {
    if (du) be.release(du);
    return null;
  }
  // dy [..., out] times W [out, in] gives dx with x's leading dims, no reshaped view to manage.
  const dx = matmul(be, dy, p.weight);
  if (du && l) {
    matmulAccumulate(be, du, l.A, dx);
    be.release(du);
  }
  return dx;
}

/** In place: W += s B A (fold LoRA into the base weight for inference). */
export function mergeLora(be: Backend, p: LinearParams): void {
  const l = lora(p);
  if (!l) throw new Error("mergeLora: the layer has no LoRA factors");
  matmulAccumulate(be, l.B, l.A, p.weight, { alpha: l.s });
}

/** In place: W -= s B A (undo {@link mergeLora}). */
export function unmergeLora(be: Backend, p: LinearParams): void {
  const l = lora(p);
  if (!l) throw new Error("unmergeLora: the layer has no LoRA factors");
  matmulAccumulate(be, l.B, l.A, p.weight, { alpha: -l.s });
}
