/**
 * Random parameters of CLIBD's training augmentation (spec 4), drawn from a seeded `Rng` with the
 * same sampling algorithms as torchvision (the random streams differ: torch's generator vs ours).
 * @module
 */
import type { Rng } from "../../util/rng.ts";
import { roundHalfEven } from "./crop.ts";

/** A crop box: rows `top..top+height`, columns `left..left+width`. */
export interface CropBox {
  /** First row (torchvision `i`). */
  top: number;
  /** First column (torchvision `j`). */
  left: number;
  /** Rows (torchvision `h`). */
  height: number;
  /** Columns (torchvision `w`). */
  width: number;
}

/** The fallback of `RandomResizedCrop.get_params` after 10 failed tries: a centred crop within `ratio`. */
export function resizedCropFallback(height: number, width: number, ratio: [number, number]): CropBox {
  const inRatio = width / height;
  let w: number, h: number;
  if (inRatio < Math.min(...ratio)) {
    w = width;
    h = roundHalfEven(w / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    h = height;
    w = roundHalfEven(h * Math.max(...ratio));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * torchvision `RandomResizedCrop.get_params`: up to 10 tries of area fraction ~ U(scale) and
 * log-aspect ~ U(log ratio), rounded with Python's `round`; a try is kept when the box fits.
 */
export function randomResizedCropParams(
  height: number,
  width: number,
  rng: Rng,
  scale: [number, number] = [0.08, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]), logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  return resizedCropFallback(height, width, ratio);
}

/** All random choices of one training sample, in torchvision's draw order. */
export interface TrainParams {
  /** RandomResizedCrop box on the resized image. */
  box: CropBox;
  /** RandomHorizontalFlip (p = 0.5). */
  hflip: boolean;
  /** RandomVerticalFlip (p = 0.5). */
  vflip: boolean;
  /** RandomRotation angle in degrees, U(-maxDeg, maxDeg). */
  angle: number;
}

/** Draws the parameters of CLIBD's training augmentation for an image of `height x width` (after Resize). */
export function sampleTrainParams(height: number, width: number, rng: Rng, maxRotationDeg = 45): TrainParams {
  const box = randomResizedCropParams(height, width, rng);
  const hflip = rng.next() < 0.5;
  const vflip = rng.next() < 0.5;
  const angle = rng.uniform(-maxRotationDeg, maxRotationDeg);
  return { box, hflip, vflip, angle };
}
