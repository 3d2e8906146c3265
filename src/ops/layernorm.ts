/**
 * LayerNorm over the last dim (torch.nn.LayerNorm: biased variance, eps inside the square root), with the
 * per-row mean and 1/std saved for the backward. The backward returns dx and accumulates dgamma/dbeta
 * into caller-owned gradient tensors, deterministically (fixed summation order, no atomics).
 * @module
 */
import { assertShape, type Backend, type Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { rowLaunch, rowsOf } from "./softmax.ts";

/** Rows summed by one thread of the parameter-gradient kernel before the per-chunk partials are added. */
const PARAM_ROWS = 32;

/** Result of {@link layerNorm}. */
export interface LayerNormOut {
  /** Normalised, scaled and shifted output, same shape as x. */
  y: Tensor;
  /** Row means [N]. */
  mean: Tensor;
  /** Row reciprocal standard deviations 1/sqrt(var + eps) [N]. */
  rstd: Tensor;
}

/** y = (x - mean) * rstd * gamma + beta over the last dim of x [N,C] (leading dims flattened). */
export function layerNorm(be: Backend, x: Tensor, gamma: Tensor, beta: Tensor, eps: number): LayerNormOut {
  const { n, c } = rowsOf(x);
  assertShape("layerNorm", "gamma", gamma, [c]);
  assertShape("layerNorm", "beta", beta, [c]);
  const y = be.empty(x.shape), mean = be.empty([n]), rstd = be.empty([n]);
  if (be.kind === "cpu") {
    const xd = x.data, gd = gamma.data, bd = beta.data, yd = y.data, md = mean.data, rd = rstd.data;
    for (let r = 0; r < n; r++) {
      const o = r * c;
      let s = 0;
      for (let i = 0; i < c; i++) s += xd[o + i];
      const mu = s / c;
      let q = 0;
      for (let i = 0; i < c; i++) q += (xd[o + i] - mu) ** 2;
      const rs = 1 / Math.sqrt(q / c + eps);
      for (let i = 0; i < c; i++) yd[o + i] = (xd[o + i] - mu) * rs * gd[i] + bd[i];
      md[r] = mu;
      rd[r] = rs;
    }
  } else {
    const g = be as GpuBackend;
    const l = rowLaunch(g, n, c);
    g.dispatch(
      { file: "layernorm", constants: { WG: l.wg } },
      packParams({ n, c, eps, gx: l.gx }, ["eps"]),
      [x, gamma, beta, y, mean, rstd],
      l.groups,
    );
  }
  return { y, mean, rstd };
}

/**
 * Backward of {@link layerNorm}: returns dx and adds sum_rows(dy * xhat) to `grads.gamma` and
 * sum_rows(dy) to `grads.beta` in place (either may be omitted, e.g. for a frozen norm).
 */
export function layerNormBackward(
  be: Backend,
  dy: Tensor,
  x: Tensor,
  gamma: Tensor,
  mean: Tensor,
  rstd: Tensor,
  grads: { gamma?: Tensor; beta?: Tensor },
): Tensor {
  const { n, c } = rowsOf(x);
  assertShape("layerNormBackward", "dy", dy, x.shape);
  assertShape("layerNormBackward", "gamma", gamma, [c]);
  assertShape("layerNormBackward", "mean", mean, [n]);
  assertShape("layerNormBackward", "rstd", rstd, [n]);
  if (grads.gamma) assertShape("layerNormBackward", "grads.gamma", grads.gamma, [c]);
  if (grads.beta) assertShape("layerNormBackward", "grads.beta", grads.beta, [c]);
  const dx = be.empty(x.shape);
  if (be.kind === "cpu") {
    const gd = dy.data, xd = x.data, wd = gamma.data, md = mean.data, rd = rstd.data, o = dx.data;
    const dg = grads.gamma?.data, db = grads.beta?.data;
    for (let r = 0; r < n; r++) {
      const b = r * c, mu = md[r], rs = rd[r];
      let s1 = 0, s2 = 0;
      for (let i = 0; i < c; i++) {
        const g = gd[b + i] * wd[i];
        s1 += g;
        s2 += g * (xd[b + i] - mu) * rs;
      }
      s1 /= c;
      s2 /= c;
      for (let i = 0; i < c; i++) {
        const xh = (xd[b + i] - mu) * rs;
        o[b + i] = rs * (gd[b + i] * wd[i] - s1 - xh * s2);
        if (dg) dg[i] += gd[b + i] * xh;
        if (db) db[i] += gd[b + i];
      }
    }
    return dx;
  }
  const g = be as GpuBackend;
  const l = rowLaunch(g, n, c);
  g.dispatch(
    { file: "layernorm_backward", constants: { WG: l.wg } },
    packParams({ n, c, gx: l.gx, _pad: 0 }),
    [dy, x, gamma, mean, rstd, dx],
    l.groups,
  );
  if (grads.gamma || grads.beta) {
    const chunks = Math.max(1, Math.ceil(n / PARAM_ROWS));
    const part = g.empty([chunks, 2, c]);
    const params = (which: number) =>
      packParams({ n, c, rows: PARAM_ROWS, chunks, which, _p0: 0, _p1: 0, _p2: 0 });
    g.dispatch({ file: "layernorm_params", entry: "partial" }, params(0), [dy, x, mean, rstd, part], [
      Math.ceil(c / 64),
      chunks,
    ]);
    if (grads.gamma) {
      g.dispatch({ file: "layernorm_accumulate" }, params(0), [part, grads.gamma], [Math.ceil(c / 64)]);
    }
    if (grads.beta) {
      g.dispatch({ file: "layernorm_accumulate" }, params(1), [part, grads.beta], [Math.ceil(c / 64)]);
    }
    // Safe to pool now: any later reuse is recorded after these dispatches and runs after them.
    g.release(part);
  }
  return dx;
}
