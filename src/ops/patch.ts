/**
 * im2col for the ViT patch embedding. A conv with kernel = stride = patch is a matmul of the unfolded
 * patches with the conv weight flattened to [O, Ch*p*p], so the model runs it as im2col + matmul.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";

/**
 * images [B,Ch,H,W] -> [B*P, Ch*patch*patch] with P = (H/patch)*(W/patch), patches row-major over
 * (py, px) and columns ordered (c, ky, kx), matching a torch conv weight [O,Ch,p,p] flattened.
 */
export function im2col(be: Backend, images: Tensor, patch: number): Tensor {
  if (images.shape.length !== 4) throw new Error(`im2col: images must be [B,Ch,H,W], got [${images.shape}]`);
  const [b, ch, h, w] = images.shape;
  if (h % patch !== 0 || w % patch !== 0) {
    throw new Error(`im2col: image ${h}x${w} is not divisible into ${patch}x${patch} patches`);
  }
  const ny = h / patch, nx = w / patch, np = ny * nx, width = ch * patch * patch;
  const out = be.empty([b * np, width]);
  if (be.kind === "cpu") {
    const src = images.data, dst = out.data;
    let e = 0;
    for (let bi = 0; bi < b; bi++) {
      for (let py = 0; py < ny; py++) {
        for (let px = 0; px < nx; px++) {
          for (let c = 0; c < ch; c++) {
            for (let ky = 0; ky < patch; ky++) {
              const rowBase = ((bi * ch + c) * h + py * patch + ky) * w + px * patch;
              for (let kx = 0; kx < patch; kx++) dst[e++] = src[rowBase + kx];
            }
          }
        }
      }
    }
  } else {
    const { groups, row } = grid1d(out.size);
    (be as GpuBackend).dispatch(
      { file: "patch" },
      packParams({ b, ch, h, w, patch, nx, np, row }),
      [images, out],
      groups,
    );
  }
  return out;
}
