/**
 * The search used by the evaluation: exact cosine top-k (`src/ops/topk.ts`) on any
 * backend, with the key matrix uploaded once per feature type in row chunks small
 * enough for one storage binding (BIOSCAN-5M keys are 325k x 768 floats, ~1 GB).
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { cosineTopK, type TopKResult } from "../ops/topk.ts";

/** A matrix of row features. */
export interface FeatureMatrix {
  /** Row-major [rows, dim]. */
  data: Float32Array;
  /** Row width. */
  dim: number;
}

/** A search function: exact cosine top-k of queries against keys (ties -> lower key index). */
export type SearchFn = (queries: FeatureMatrix, keys: FeatureMatrix, k: number) => Promise<TopKResult>;

/** Bytes per key chunk (well under the 128 MiB binding limit WebGPU guarantees). */
const CHUNK_BYTES = 64 * 2 ** 20;

/** Builds a search function on a backend; key uploads are cached per key matrix. */
export function makeSearch(be: Backend, opts: { queryRows?: number } = {}): SearchFn {
  const keyCache = new WeakMap<FeatureMatrix, Tensor[]>();
  const queryRows = opts.queryRows ?? 4096;
  return async (queries, keys, k) => {
    if (queries.dim !== keys.dim) {
      throw new Error(`search: query width ${queries.dim} != key width ${keys.dim}`);
    }
    const dim = keys.dim;
    let chunks = keyCache.get(keys);
    if (!chunks) {
      const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (dim * 4)));
      chunks = [];
      const n = keys.data.length / dim;
      for (let r = 0; r < n; r += rowsPerChunk) {
        const end = Math.min(n, r + rowsPerChunk);
        chunks.push(be.tensor(keys.data.subarray(r * dim, end * dim), [end - r, dim]));
      }
      keyCache.set(keys, chunks);
    }
    const nq = queries.data.length / dim;
    const indices = new Int32Array(nq * k), scores = new Float32Array(nq * k);
    for (let r = 0; r < nq; r += queryRows) {
      const end = Math.min(nq, r + queryRows);
      const qt = be.tensor(queries.data.subarray(r * dim, end * dim), [end - r, dim]);
      const res = await cosineTopK(be, qt, chunks, k);
      be.release(qt);
      indices.set(res.indices, r * k);
      scores.set(res.scores, r * k);
    }
    return { indices, scores };
  };
}
