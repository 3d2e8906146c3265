/**
 * torchvision `Resize(size, antialias=True)` on float tensors, i.e. PyTorch's
 * `interpolate(mode="bilinear", align_corners=False, antialias=True)` (`_upsample_bilinear2d_aa`):
 * a separable triangle filter whose support grows with the downscale factor (PIL-style), with
 * the weights of every output pixel normalised to sum to 1. Upscaling uses the same formula with
 * support 1 (plain bilinear, but edge taps renormalised instead of clamped).
 *
 * Window bounds and weights are computed with the same float32 roundings as PyTorch's CPU kernel
 * (`scalar_t` = float for float tensors): a bound computed in float64 can land one tap off.
 * @module
 */
import { type ChwImage, emptyChw, type RgbImage, toTensor } from "./chw.ts";

const f32 = Math.fround;

/**
 * Output size of torchvision `Resize(size)` with an int size: the shorter side becomes `size`
 * and the longer side `int(size * long / short)` (truncation, as in
 * `torchvision.transforms.functional._compute_resized_output_size`).
 * @returns `[newHeight, newWidth]`
 */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  if (!(height > 0 && width > 0 && size > 0)) {
    throw new Error(`resize: sizes must be positive (image ${height}x${width}, target ${size})`);
  }
  if (width <= height) return [Math.trunc((size * height) / width), size];
  return [size, Math.trunc((size * width) / height)];
}

/** Taps of a 1-D antialiased resampling: output `i` reads `size[i]` inputs from `start[i]`. */
export interface AaTaps {
  /** First input index per output index. */
  start: Int32Array;
  /** Number of taps per output index. */
  size: Int32Array;
  /** `outSize * maxTaps` normalised weights, row `i` at `i * maxTaps`. */
  weights: Float32Array;
  /** Row stride of `weights`. */
  maxTaps: number;
}

/** Triangle (bilinear) filter of PyTorch's aa kernel, evaluated in float32. */
function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? f32(1 - a) : 0;
}

/** Computes the taps of PyTorch's `_compute_indices_weights_aa` for bilinear interpolation. */
export function aaTaps(inSize: number, outSize: number): AaTaps {
  const scale = f32(inSize / outSize); // area_pixel_compute_scale, align_corners=False
  const support = scale >= 1 ? f32(scale) : 1; // (interp_size / 2) * scale, interp_size = 2
  const invscale = scale >= 1 ? f32(1 / scale) : 1;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), size = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const xsize = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = triangle(f32((f32(f32(j + xmin) - center) + 0.5) * invscale));
      weights[i * maxTaps + j] = w;
      total = f32(total + w);
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) weights[i * maxTaps + j] = f32(weights[i * maxTaps + j] / total);
    }
    start[i] = xmin;
    size[i] = xsize;
  }
  return { start, size, weights, maxTaps };
}

/** Height pass shared by both entry points: [C, H, outW] -> [C, outH, outW], contiguous inner loop. */
function heightPass(tmp: Float32Array, C: number, H: number, outW: number, outH: number): ChwImage {
  const ty = aaTaps(H, outH);
  const out = emptyChw(C, outH, outW);
  const o = out.data;
  const acc = new Float64Array(outW);
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < outH; oy++) {
      acc.fill(0);
      const y0 = ty.start[oy], n = ty.size[oy], wo = oy * ty.maxTaps;
      for (let j = 0; j < n; j++) {
        const w = ty.weights[wo + j], r = (c * H + y0 + j) * outW;
        for (let x = 0; x < outW; x++) acc[x] += tmp[r + x] * w;
      }
      o.set(acc, (c * outH + oy) * outW);
    }
  }
  return out;
}

/**
 * Antialiased bilinear resize of a CHW float image to `outH x outW` (width pass first, then
 * height, as PyTorch's separable kernel does; the intermediate is float32 like its temp tensor).
 */
export function resizeBilinearAA(img: ChwImage, outH: number, outW: number): ChwImage {
  const { channels: C, height: H, width: W, data: src } = img;
  if (!(outH > 0 && outW > 0)) throw new Error(`resize: output size must be positive, got ${outH}x${outW}`);
  if (outH === H && outW === W) return { channels: C, height: H, width: W, data: src.slice() };
  const tx = aaTaps(W, outW);
  const tmp = new Float32Array(C * H * outW);
  for (let row = 0; row < C * H; row++) {
    const s = row * W, d = row * outW;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = s + tx.start[ox], n = tx.size[ox], wo = ox * tx.maxTaps;
      let acc = 0;
      for (let j = 0; j < n; j++) acc += src[x0 + j] * tx.weights[wo + j];
      tmp[d + ox] = acc;
    }
  }
  return heightPass(tmp, C, H, outW, outH);
}

/**
 * `ToTensor` followed by {@link resizeBilinearAA}, fused: the width pass reads the uint8 RGB bytes
 * through a table of `v / 255` in float32 — the very values ToTensor would store — so the result is
 * identical while the full-size float image (75 MB for a 2880x2160 photo) is never allocated.
 */
export function resizeRgbBilinearAA(img: RgbImage, outH: number, outW: number): ChwImage {
  const { width: W, height: H, data: src } = img;
  if (!(outH > 0 && outW > 0)) throw new Error(`resize: output size must be positive, got ${outH}x${outW}`);
  if (outH === H && outW === W) return toTensor(img);
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  const tx = aaTaps(W, outW);
  const tmp = new Float32Array(3 * H * outW);
  for (let y = 0; y < H; y++) {
    const s = y * W * 3;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = s + tx.start[ox] * 3, n = tx.size[ox], wo = ox * tx.maxTaps;
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < n; j++) {
        const w = tx.weights[wo + j], p = x0 + 3 * j;
        r += lut[src[p]] * w;
        g += lut[src[p + 1]] * w;
        b += lut[src[p + 2]] * w;
      }
      tmp[y * outW + ox] = r;
      tmp[(H + y) * outW + ox] = g;
      tmp[(2 * H + y) * outW + ox] = b;
    }
  }
  return heightPass(tmp, 3, H, outW, outH);
}

/** torchvision `Resize(size, antialias=True)` with an int size (shorter side to `size`). */
export function resizeShorterSide(img: ChwImage, size: number): ChwImage {
  const [h, w] = shorterSideSize(img.height, img.width, size);
  return resizeBilinearAA(img, h, w);
}

/** `ToTensor` then `Resize(size, antialias=True)` straight from decoded RGB bytes (fused, same values). */
export function rgbToResizedTensor(img: RgbImage, size: number): ChwImage {
  const [h, w] = shorterSideSize(img.height, img.width, size);
  return resizeRgbBilinearAA(img, h, w);
}
