/**
 * Ops the models need that the contract in docs/ARCHITECTURE.md does not list.
 * Same rules as src/ops/: CPU reference + WGSL kernel, tested in tests/model_extra_ops_test.ts.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";

/**
 * Inverse of `im2col` for a non-overlapping patch grid (the ViT patch conv):
 * cols [B*P, 3*patch*patch] with columns (c, ky, kx) -> images [B,3,size,size].
 * Because stride = kernel, every pixel belongs to exactly one patch, so this is a
 * permutation and also the backward of im2col (d images from d cols).
 */
export function col2im(be: Backend, cols: Tensor, batch: number, size: number, patch: number): Tensor {
  const ch = 3, nx = size / patch, np = nx * nx, width = ch * patch * patch;
  if (!Number.isInteger(nx)) throw new Error(`col2im: size ${size} is not a multiple of patch ${patch}`);
  if (cols.size !== batch * np * width) {
    throw new Error(`col2im: cols has shape [${cols.shape}], expected [${batch * np}, ${width}]`);
  }
  const out = be.empty([batch, ch, size, size]);
  if (be.kind === "cpu") {
    const src = cols.data, dst = out.data;
    for (let b = 0; b < batch; b++) {
      for (let pi = 0; pi < np; pi++) {
        const py = Math.floor(pi / nx), px = pi % nx, row = (b * np + pi) * width;
        for (let c = 0; c < ch; c++) {
          for (let ky = 0; ky < patch; ky++) {
            for (let kx = 0; kx < patch; kx++) {
              dst[((b * ch + c) * size + py * patch + ky) * size + px * patch + kx] =
                src[row + (c * patch + ky) * patch + kx];
            }
          }
        }
      }
    }
  } else {
    const { groups, row } = grid1d(out.size);
    (be as GpuBackend).dispatch(
      { file: "col2im", entry: "main" },
      packParams({ b: batch, ch, h: size, w: size, ps: patch, nx, np, row }),
      [cols, out],
      groups,
    );
  }
  return out;
}
