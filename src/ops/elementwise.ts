/**
 * Elementwise ops: add, axpy (in-place y += alpha x), scale, and exact-erf GELU
 * with its backward. Each op has a CPU reference and a WGSL kernel.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";
import { erf } from "../util/math.ts";

function checkSame(op: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size) throw new Error(`${op}: sizes differ ([${a.shape}] vs [${b.shape}])`);
}

function unary(be: GpuBackend, file: string, entry: string, a: Tensor, out: Tensor, alpha = 0): void {
  const { groups, row } = grid1d(a.size);
  be.dispatch({ file, entry }, packParams({ n: a.size, alpha, row, _pad: 0 }, ["alpha"]), [a, out], groups);
}

function binary(be: GpuBackend, entry: string, a: Tensor, b: Tensor, out: Tensor): void {
  const { groups, row } = grid1d(a.size);
  be.dispatch(
    { file: "elementwise_binary", entry },
    packParams({ n: a.size, alpha: 0, row, _pad: 0 }, ["alpha"]),
    [
      a,
      b,
      out,
    ],
    groups,
  );
}

/** out = a + b (same number of elements; the result has a's shape). */
export function add(be: Backend, a: Tensor, b: Tensor): Tensor {
  checkSame("add", a, b);
  const out = be.empty(a.shape);
  if (be.kind === "cpu") {
    const x = a.data, y = b.data, o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = x[i] + y[i];
  } else binary(be as GpuBackend, "add", a, b, out);
  return out;
}

/** In place: y += alpha * x. Used for residuals and gradient accumulation. */
export function axpy(be: Backend, y: Tensor, x: Tensor, alpha = 1): void {
  checkSame("axpy", y, x);
  if (be.kind === "cpu") {
    const xd = x.data, yd = y.data;
    for (let i = 0; i < yd.length; i++) yd[i] += alpha * xd[i];
  } else unary(be as GpuBackend, "elementwise", "axpy", x, y, alpha);
}

/** out = alpha * a. */
export function scale(be: Backend, a: Tensor, alpha: number): Tensor {
  const out = be.empty(a.shape);
  if (be.kind === "cpu") {
    const x = a.data, o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = alpha * x[i];
  } else unary(be as GpuBackend, "elementwise", "scale", a, out, alpha);
  return out;
}

/** GELU, exact erf form: 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(be: Backend, a: Tensor): Tensor {
  const out = be.empty(a.shape);
  if (be.kind === "cpu") {
    const x = a.data, o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
  } else unary(be as GpuBackend, "elementwise", "gelu", a, out);
  return out;
}

/** dx = dy * gelu'(x), with gelu'(x) = Phi(x) + x phi(x). */
export function geluBackward(be: Backend, x: Tensor, dy: Tensor): Tensor {
  checkSame("geluBackward", x, dy);
  const out = be.empty(x.shape);
  if (be.kind === "cpu") {
    const xd = x.data, g = dy.data, o = out.data;
    for (let i = 0; i < o.length; i++) {
      const v = xd[i];
      const cdf = 0.5 * (1 + erf(v * Math.SQRT1_2));
      const pdf = Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
      o[i] = g[i] * (cdf + v * pdf);
    }
  } else binary(be as GpuBackend, "gelu_backward", x, dy, out);
  return out;
}
