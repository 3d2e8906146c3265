/**
 * Crops as torchvision's tensor code does them: out-of-bounds regions read as zeros (torchvision
 * pads with fill 0), and `CenterCrop` rounds its offsets with Python's `round` (half to even).
 * @module
 */
import { type ChwImage, emptyChw } from "./chw.ts";

/** Python 3 `round(x)` for the half-integers and integers crop offsets produce: ties go to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision `F.crop(img, top, left, height, width)`; pixels outside the image are 0. */
export function crop(img: ChwImage, top: number, left: number, height: number, width: number): ChwImage {
  if (!(height > 0 && width > 0)) throw new Error(`crop: size must be positive, got ${height}x${width}`);
  const { channels: C, height: H, width: W, data: src } = img;
  const out = emptyChw(C, height, width);
  const x0 = Math.max(0, -left), x1 = Math.min(width, W - left);
  if (x1 <= x0) return out;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < height; y++) {
      const sy = top + y;
      if (sy < 0 || sy >= H) continue;
      const s = (c * H + sy) * W + left, d = (c * height + y) * width;
      out.data.set(src.subarray(s + x0, s + x1), d + x0);
    }
  }
  return out;
}

/** Top-left offset torchvision's `center_crop` uses, including its zero padding when the crop is larger. */
export function centerCropOffset(
  height: number,
  width: number,
  cropH: number,
  cropW: number,
): [number, number] {
  // Padding first (left/top get the floor half), then round((padded - crop) / 2) on the padded image.
  const padT = cropH > height ? Math.floor((cropH - height) / 2) : 0;
  const padL = cropW > width ? Math.floor((cropW - width) / 2) : 0;
  const padB = cropH > height ? Math.floor((cropH - height + 1) / 2) : 0;
  const padR = cropW > width ? Math.floor((cropW - width + 1) / 2) : 0;
  const top = roundHalfEven((height + padT + padB - cropH) / 2);
  const left = roundHalfEven((width + padL + padR - cropW) / 2);
  return [top - padT, left - padL];
}

/** torchvision `CenterCrop([cropH, cropW])` on a tensor. */
export function centerCrop(img: ChwImage, cropH: number, cropW: number = cropH): ChwImage {
  const [top, left] = centerCropOffset(img.height, img.width, cropH, cropW);
  return crop(img, top, left, cropH, cropW);
}
