/**
 * The float image type the transforms work on, and torchvision's `ToTensor`.
 *
 * CLIBD converts to a float tensor *before* resizing (spec 4/5.3), so every geometric step
 * here works on float CHW data, exactly like torchvision's tensor code path (no uint8 rounding
 * between steps).
 * @module
 */

/** A float image in channel-major (CHW) layout, as torchvision tensors are. */
export interface ChwImage {
  /** Number of channels (3 for RGB). */
  channels: number;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
  /** `channels * height * width` values, index `(c * height + y) * width + x`. */
  data: Float32Array;
}

/** An 8-bit interleaved RGB image (HWC), as decoders produce it. */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width * height * 3` bytes, index `(y * width + x) * 3 + c`. */
  data: Uint8Array;
}

/** Allocates a zero-filled CHW image. */
export function emptyChw(channels: number, height: number, width: number): ChwImage {
  return { channels, height, width, data: new Float32Array(channels * height * width) };
}

/**
 * torchvision `ToTensor` on an RGB uint8 image: HWC -> CHW and `x / 255` in float32
 * (torch divides the float32 value by 255, which `Math.fround(v / 255)` reproduces exactly).
 */
export function toTensor(img: RgbImage): ChwImage {
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 3) {
    throw new Error(`toTensor: expected ${w * h * 3} RGB bytes for ${w}x${h}, got ${data.length}`);
  }
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  const out = emptyChw(3, h, w);
  const plane = w * h;
  const o = out.data;
  for (let p = 0; p < plane; p++) {
    o[p] = lut[data[3 * p]];
    o[plane + p] = lut[data[3 * p + 1]];
    o[2 * plane + p] = lut[data[3 * p + 2]];
  }
  return out;
}

/** In-place per-channel `(x - mean[c]) / std[c]` (torchvision `Normalize`). */
export function normalizeInPlace(img: ChwImage, mean: readonly number[], std: readonly number[]): void {
  if (mean.length !== img.channels || std.length !== img.channels) {
    throw new Error(
      `normalize: mean/std need ${img.channels} values, got ${mean.length} and ${std.length}`,
    );
  }
  const plane = img.height * img.width;
  for (let c = 0; c < img.channels; c++) {
    if (!(std[c] > 0)) throw new Error(`normalize: std[${c}] must be > 0, got ${std[c]}`);
    const m = mean[c], s = std[c], d = img.data;
    for (let p = c * plane; p < (c + 1) * plane; p++) d[p] = (d[p] - m) / s;
  }
}
