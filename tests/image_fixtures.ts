/**
 * Loads the torchvision fixtures written by scripts/make_image_fixtures.py and locates the BIOSCAN
 * photos they were made from (small ones copied to data/images/bioscan1m; the 2880x2160 originals
 * only in the shared data folder, so their cases are skipped where it is absent).
 */
import { fileURLToPath } from "node:url";
import { SHARED_DATA } from "./shared_data.ts";

const FIX = fileURLToPath(new URL("./fixtures/images/", import.meta.url));
const LOCAL = fileURLToPath(new URL("../data/images/bioscan1m/", import.meta.url));
const SHARED = `${SHARED_DATA}images/bioscan1m/`;

/** One stored float32 tensor. */
export interface Stored {
  file: string;
  shape: number[];
}

/** The manifest the fixture script writes. */
export interface Manifest {
  generator: string;
  decode: { photo: string; width: number; height: number; sha256: string }[];
  eval: (Stored & { photo: string; resize: number; crop: number })[];
  train_input: Stored & { photo: string };
  functional: (Stored & { op: string; [k: string]: unknown })[];
  fallback: { height: number; width: number; i: number; j: number; h: number; w: number }[];
  /** torchvision RandomResizedCrop.get_params statistics over `n` draws. */
  rrc_stats: {
    height: number;
    width: number;
    n: number;
    area_mean: number;
    area_sd: number;
    log_ratio_mean: number;
    log_ratio_sd: number;
  };
}

/** Parsed manifest. */
export const manifest: Manifest = JSON.parse(Deno.readTextFileSync(FIX + "manifest.json"));

/** Reads a raw little-endian float32 fixture. */
export function readF32(s: Stored): Float32Array {
  const b = Deno.readFileSync(FIX + s.file);
  const n = s.shape.reduce((a, v) => a * v, 1);
  if (b.byteLength !== n * 4) throw new Error(`${s.file}: ${b.byteLength} bytes, expected ${n * 4}`);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

/** Bytes of a photo, or null when it is available nowhere on this machine. */
export function readPhoto(name: string): Uint8Array | null {
  for (const dir of [LOCAL, SHARED]) {
    try {
      return Deno.readFileSync(dir + name);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return null;
}

/** Max |a - b| and the index where it occurs. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  return { max, at };
}
