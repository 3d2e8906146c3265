/**
 * Mean pooling over the token axis (the CLIBD text tower averages all 20 positions, [PAD] included, and
 * the DNA tower averages all 133 softmax rows) and its backward.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";

/** x [B,T,C] -> [B,C], the mean over T. */
export function meanPool(be: Backend, x: Tensor): Tensor {
  if (x.shape.length !== 3) throw new Error(`meanPool: x must be [B,T,C], got [${x.shape}]`);
  const [b, t, c] = x.shape;
  const out = be.empty([b, c]);
  if (be.kind === "cpu") {
    const xd = x.data, od = out.data;
    for (let bi = 0; bi < b; bi++) {
      for (let i = 0; i < c; i++) {
        let s = 0;
        for (let ti = 0; ti < t; ti++) s += xd[(bi * t + ti) * c + i];
        od[bi * c + i] = s / t;
      }
    }
  } else {
    const { groups, row } = grid1d(b * c);
    (be as GpuBackend).dispatch(
      { file: "pool", entry: "mean_pool" },
      packParams({ b, t, c, row }),
      [x, out],
      groups,
    );
  }
  return out;
}

/** dy [B,C] -> dx [B,T,C] = dy / T broadcast over the tokens. */
export function meanPoolBackward(be: Backend, dy: Tensor, t: number): Tensor {
  if (dy.shape.length !== 2) throw new Error(`meanPoolBackward: dy must be [B,C], got [${dy.shape}]`);
  const [b, c] = dy.shape;
  const dx = be.empty([b, t, c]);
  if (be.kind === "cpu") {
    const gd = dy.data, o = dx.data;
    for (let bi = 0; bi < b; bi++) {
      for (let ti = 0; ti < t; ti++) {
        for (let i = 0; i < c; i++) o[(bi * t + ti) * c + i] = gd[bi * c + i] / t;
      }
    }
  } else {
    const { groups, row } = grid1d(b * t * c);
    (be as GpuBackend).dispatch(
      { file: "pool", entry: "mean_pool_backward" },
      packParams({ b, t, c, row }),
      [dy, dx],
      groups,
    );
  }
  return dx;
}
