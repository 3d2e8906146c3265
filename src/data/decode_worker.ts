/**
 * Module worker that decodes JPEGs and applies CLIBD's image transform off the main thread.
 * Protocol: receives {@link DecodeRequest}, answers {@link DecodeResponse} with the pixel
 * buffers transferred (not copied). A failed image answers an error string for that item
 * only, so one corrupt JPEG never takes down the batch; the loader applies the policy.
 * @module
 */
import { decodeAndTransform } from "./image/transforms.ts";

/** One image to decode. */
export interface DecodeJob {
  bytes: Uint8Array;
  /** Augmentation seed (train mode). */
  seed: number;
}

/** Message to the worker. */
export interface DecodeRequest {
  id: number;
  mode: "eval" | "train";
  resize: number;
  crop: number;
  jobs: DecodeJob[];
}

/** Message from the worker: per job either pixels [3, crop, crop] or an error. */
export interface DecodeResponse {
  id: number;
  results: ({ ok: true; pixels: Float32Array } | { ok: false; error: string })[];
}

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = async (ev: MessageEvent<DecodeRequest>) => {
  const { id, mode, resize, crop, jobs } = ev.data;
  const results: DecodeResponse["results"] = [];
  for (const j of jobs) {
    try {
      const pixels = await decodeAndTransform(j.bytes, { mode, resize, crop, seed: j.seed });
      results.push({ ok: true, pixels });
    } catch (e) {
      results.push({ ok: false, error: (e as Error).message.split("\n")[0] });
    }
  }
  const transfer = results.flatMap((r) => r.ok ? [r.pixels.buffer] : []);
  scope.postMessage({ id, results } satisfies DecodeResponse, transfer);
};
