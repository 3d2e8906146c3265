/**
 * Flips and torchvision's `F.rotate(img, angle, NEAREST, expand=False, center=None, fill=0)` on
 * CHW float images (the pieces of CLIBD's training augmentation after the crop).
 * @module
 */
import { type ChwImage, emptyChw } from "./chw.ts";

const f32 = Math.fround;

/** torchvision `hflip`: mirror left-right. */
export function hflip(img: ChwImage): ChwImage {
  const { channels: C, height: H, width: W, data: s } = img;
  const out = emptyChw(C, H, W);
  for (let r = 0; r < C * H; r++) {
    const b = r * W;
    for (let x = 0; x < W; x++) out.data[b + x] = s[b + W - 1 - x];
  }
  return out;
}

/** torchvision `vflip`: mirror top-bottom. */
export function vflip(img: ChwImage): ChwImage {
  const { channels: C, height: H, width: W, data: s } = img;
  const out = emptyChw(C, H, W);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      out.data.set(s.subarray((c * H + H - 1 - y) * W, (c * H + H - y) * W), (c * H + y) * W);
    }
  }
  return out;
}

/** Python's `round` on floats / `torch.round` / `nearbyint`: half to even. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Rotates counter-clockwise by `angleDeg` about the image centre with nearest-neighbour sampling,
 * same output size, zeros outside (torchvision `RandomRotation` with its defaults after drawing the
 * angle). Follows torchvision's tensor path: inverse affine matrix -> `affine_grid`-style grid in
 * float32 -> `grid_sample(nearest, zeros, align_corners=False)`. The float32 roundings are
 * reproduced step by step because nearest sampling turns a last-bit difference into a different
 * source pixel; PyTorch's vectorised bmm may still fuse multiply-adds, so a rare pixel on a
 * rounding tie can differ.
 */
export function rotateNearest(img: ChwImage, angleDeg: number): ChwImage {
  const { channels: C, height: H, width: W, data: s } = img;
  // _get_inverse_affine_matrix(center=0, angle=-angle, translate=0, scale=1, shear=0):
  const rot = (-angleDeg * Math.PI) / 180;
  const cos = Math.cos(rot), sin = Math.sin(rot);
  // theta = [[cos, sin, 0], [-sin, cos, 0]]; grid = [x, y, 1] @ (theta^T / [W/2, H/2]).
  const m00 = f32(f32(cos) / f32(0.5 * W)), m10 = f32(f32(sin) / f32(0.5 * W));
  const m01 = f32(f32(-sin) / f32(0.5 * H)), m11 = f32(f32(cos) / f32(0.5 * H));
  const sw = f32(W / 2), sh = f32(H / 2);
  const out = emptyChw(C, H, W);
  const plane = H * W;
  for (let oy = 0; oy < H; oy++) {
    const y = oy - H * 0.5 + 0.5; // torch.linspace(-H/2 + 0.5, H/2 - 0.5, H): exact half-integers
    const ym0 = f32(y * m10), ym1 = f32(y * m11);
    for (let ox = 0; ox < W; ox++) {
      const x = ox - W * 0.5 + 0.5;
      const gx = f32(f32(x * m00) + ym0), gy = f32(f32(x * m01) + ym1);
      // grid_sample unnormalise (align_corners=False): (g + 1) * size / 2 - 0.5, then round.
      const ix = rint(f32(f32(f32(gx + 1) * sw) - 0.5));
      const iy = rint(f32(f32(f32(gy + 1) * sh) - 0.5));
      if (ix < 0 || ix >= W || iy < 0 || iy >= H) continue;
      const si = iy * W + ix, di = oy * W + ox;
      for (let c = 0; c < C; c++) out.data[c * plane + di] = s[c * plane + si];
    }
  }
  return out;
}
