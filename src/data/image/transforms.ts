/**
 * CLIBD's image pipelines (spec 4 and 5.3) and the one entry point the data-loader workers call.
 *
 * Eval:  ToTensor -> Resize(R, antialias) -> CenterCrop(C)
 * Train: ToTensor -> Resize(R, antialias) -> RandomResizedCrop(C, antialias) -> RandomHorizontalFlip
 *        -> RandomVerticalFlip -> RandomRotation(+-45, nearest, no expand, fill 0)
 * No mean/std normalisation unless asked for (CLIBD uses none; pitfall 1).
 * @module
 */
import { Rng } from "../../util/rng.ts";
import { type ChwImage, normalizeInPlace } from "./chw.ts";
import { centerCrop, crop } from "./crop.ts";
import { decodeJpeg } from "./decode.ts";
import { hflip, rotateNearest, vflip } from "./geometry.ts";
import { type CropBox, sampleTrainParams, type TrainParams } from "./random_params.ts";
import { resizeBilinearAA, resizeShorterSide, rgbToResizedTensor } from "./resize.ts";

/** Sizes and optional normalisation shared by both pipelines. */
export interface TransformSizes {
  /** Shorter side after Resize (CLIBD: 256). */
  resize: number;
  /** Square output side (CLIBD: 224). */
  crop: number;
  /** Optional per-channel mean (3 values), applied after the geometry. */
  mean?: number[];
  /** Optional per-channel std (3 values). */
  std?: number[];
}

/** Options of {@link decodeAndTransform}. */
export interface DecodeTransformOptions extends TransformSizes {
  /** "eval": deterministic centre crop; "train": CLIBD's random augmentation. */
  mode: "eval" | "train";
  /** Seed of this sample's augmentation (train mode; default 0). Same seed, same output. */
  seed?: number;
}

function finish(img: ChwImage, o: TransformSizes): ChwImage {
  if (o.mean !== undefined || o.std !== undefined) {
    if (o.mean === undefined || o.std === undefined) {
      throw new Error("transform: give both mean and std, or neither");
    }
    normalizeInPlace(img, o.mean, o.std);
  }
  return img;
}

function checkSizes(o: TransformSizes): void {
  if (!Number.isInteger(o.resize) || o.resize <= 0 || !Number.isInteger(o.crop) || o.crop <= 0) {
    throw new Error(`transform: resize and crop must be positive integers, got ${o.resize} and ${o.crop}`);
  }
}

/** Eval/inference transform on a float CHW image (already `ToTensor`-ed). */
export function evalTransform(img: ChwImage, o: TransformSizes): ChwImage {
  checkSizes(o);
  return evalAfterResize(resizeShorterSide(img, o.resize), o);
}

function evalAfterResize(resized: ChwImage, o: TransformSizes): ChwImage {
  return finish(centerCrop(resized, o.crop), o);
}

/** torchvision `F.resized_crop(img, top, left, h, w, [size, size], BILINEAR, antialias=True)`. */
export function resizedCrop(img: ChwImage, box: CropBox, size: number): ChwImage {
  return resizeBilinearAA(crop(img, box.top, box.left, box.height, box.width), size, size);
}

/** Applies the training augmentation with given parameters (deterministic; for tests and replays). */
export function applyTrainParams(resized: ChwImage, p: TrainParams, cropSize: number): ChwImage {
  let x = resizedCrop(resized, p.box, cropSize);
  if (p.hflip) x = hflip(x);
  if (p.vflip) x = vflip(x);
  return rotateNearest(x, p.angle);
}

/** Training transform on a float CHW image; all randomness comes from `rng`. */
export function trainTransform(img: ChwImage, o: TransformSizes, rng: Rng): ChwImage {
  checkSizes(o);
  return trainAfterResize(resizeShorterSide(img, o.resize), o, rng);
}

function trainAfterResize(resized: ChwImage, o: TransformSizes, rng: Rng): ChwImage {
  const p = sampleTrainParams(resized.height, resized.width, rng);
  return finish(applyTrainParams(resized, p, o.crop), o);
}

/**
 * Decodes a JPEG and applies CLIBD's eval or train transform.
 * @returns Float32Array of shape [3, crop, crop] (CHW), values in [0, 1] unless mean/std are given.
 */
export async function decodeAndTransform(
  bytes: Uint8Array,
  opts: DecodeTransformOptions,
): Promise<Float32Array> {
  if (opts.mode !== "eval" && opts.mode !== "train") {
    throw new Error(`decodeAndTransform: mode must be "eval" or "train", got ${String(opts.mode)}`);
  }
  checkSizes(opts);
  // ToTensor + Resize fused (identical values, no full-size float copy of the photo).
  const resized = rgbToResizedTensor(await decodeJpeg(bytes), opts.resize);
  const y = opts.mode === "eval"
    ? evalAfterResize(resized, opts)
    : trainAfterResize(resized, opts, new Rng(opts.seed ?? 0));
  return y.data;
}
