/**
 * Row L2 normalisation as torch.nn.functional.normalize(x, p=2, dim=-1, eps=1e-12):
 * y = x / max(||x||, eps), so an all-zero row maps to zeros (CLIBD normalises every embedding this way,
 * and the reference confirms zero vectors give zeros, not NaN).
 * @module
 */
import { assertShape, type Backend, type Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { rowLaunch, rowsOf } from "./softmax.ts";

/** The clamp on the norm, as F.normalize's default eps. */
export const L2_EPS = 1e-12;

/** y = x / max(||x||, 1e-12) per row of x [N,C]; also returns the unclamped norms [N]. */
export function l2Normalize(be: Backend, x: Tensor): { y: Tensor; norm: Tensor } {
  const { n, c } = rowsOf(x);
  const y = be.empty(x.shape), norm = be.empty([n]);
  if (be.kind === "cpu") {
    const xd = x.data, yd = y.data, nd = norm.data;
    for (let r = 0; r < n; r++) {
      const o = r * c;
      let s = 0;
      for (let i = 0; i < c; i++) s += xd[o + i] * xd[o + i];
      nd[r] = Math.sqrt(s);
      const inv = 1 / Math.max(nd[r], L2_EPS);
      for (let i = 0; i < c; i++) yd[o + i] = xd[o + i] * inv;
    }
  } else {
    const g = be as GpuBackend;
    const l = rowLaunch(g, n, c);
    g.dispatch(
      { file: "normalize", constants: { WG: l.wg } },
      packParams({ n, c, gx: l.gx, _pad: 0 }),
      [x, y, norm],
      l.groups,
    );
  }
  return { y, norm };
}

/**
 * Gradient of {@link l2Normalize}: dx = (dy - y (y . dy)) / ||x|| where ||x|| > eps, and dy / eps where
 * the clamp is active (y is then linear in x). `x` is accepted for the contract's symmetry; y and the
 * norm carry everything needed.
 */
export function l2NormalizeBackward(be: Backend, dy: Tensor, x: Tensor, y: Tensor, norm: Tensor): Tensor {
  assertShape("l2NormalizeBackward", "dy", dy, y.shape);
  assertShape("l2NormalizeBackward", "x", x, y.shape);
  const { n, c } = rowsOf(y);
  assertShape("l2NormalizeBackward", "norm", norm, [n]);
  const dx = be.empty(y.shape);
  if (be.kind === "cpu") {
    const yd = y.data, gd = dy.data, nd = norm.data, o = dx.data;
    for (let r = 0; r < n; r++) {
      const b = r * c;
      let d = 0;
      if (nd[r] > L2_EPS) { for (let i = 0; i < c; i++) d += yd[b + i] * gd[b + i]; }
      const inv = 1 / Math.max(nd[r], L2_EPS);
      for (let i = 0; i < c; i++) o[b + i] = (gd[b + i] - yd[b + i] * d) * inv;
    }
  } else {
    const g = be as GpuBackend;
    const l = rowLaunch(g, n, c);
    g.dispatch(
      { file: "normalize_backward", constants: { WG: l.wg } },
      packParams({ n, c, gx: l.gx, _pad: 0 }),
      [y, dy, norm, dx],
      l.groups,
    );
  }
  return dx;
}
