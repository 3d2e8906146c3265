/**
 * Exact cosine top-k over an index's stored embeddings on the host: a linear scan that reads f32
 * or f16 rows in place (an f16 index is never widened in memory). For the few queries of an
 * identification this is milliseconds per 10k keys; bulk evaluation uses src/eval/search.ts.
 * Ties go to the lower key index, as in the evaluation.
 * @module
 */

/** Stored key rows: [count, dim] row-major. */
export type KeyRows = Float32Array | Float16Array;

/** One neighbour. */
export interface Hit {
  /** Key row. */
  index: number;
  /** Cosine similarity. */
  score: number;
}

/** Inverse L2 norm of each key row (0 for a zero row, which then scores 0). */
export function inverseNorms(keys: KeyRows, dim: number): Float32Array {
  const n = keys.length / dim, out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let c = 0, o = i * dim; c < dim; c++) ss += keys[o + c] * keys[o + c];
    out[i] = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  }
  return out;
}

/** Exact top-k cosine neighbours of one query, best first, ties -> lower index. */
export function topKCosine(
  keys: KeyRows,
  invNorms: Float32Array,
  dim: number,
  query: ArrayLike<number>,
  k: number,
): Hit[] {
  if (query.length !== dim) throw new Error(`search: query width ${query.length} != index width ${dim}`);
  const n = invNorms.length;
  let qs = 0;
  for (let c = 0; c < dim; c++) qs += query[c] * query[c];
  const qInv = qs > 0 ? 1 / Math.sqrt(qs) : 0;
  const q = Float64Array.from(query, (v) => v * qInv);
  const best: Hit[] = [];
  const kk = Math.min(k, n);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let c = 0, o = i * dim; c < dim; c++) dot += q[c] * keys[o + c];
    const score = dot * invNorms[i];
    if (best.length === kk && !(score > best[kk - 1].score)) continue;
    // Insert after every entry with score >= this one (earlier index wins ties).
    let p = best.length;
    while (p > 0 && best[p - 1].score < score) p--;
    best.splice(p, 0, { index: i, score });
    if (best.length > kk) best.pop();
  }
  return best;
}
