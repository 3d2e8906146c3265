/**
 * Exact cosine k-nearest-neighbour search (CLIBD's faiss `IndexFlatIP` on
 * L2-normalised float32 vectors, spec 6), over a key matrix given as row
 * chunks so that it can exceed one storage binding (BIOSCAN-5M: 325k x 768).
 *
 * Conventions (shared by the GPU kernels and the CPU reference):
 * - rows are normalised inside: score = dot(q, k) / (max(|q|, 1e-12) max(|k|, 1e-12)),
 *   so a zero query or key scores 0 against everything (no NaN);
 * - results per query are sorted by score descending, ties broken by the lower
 *   global key index (faiss's exact CPU search);
 * - when fewer than k keys exist, the remaining slots hold index -1 and score
 *   -Infinity.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d, MAX_GROUPS } from "../gpu/grid.ts";

/** Largest k the kernels support (CLIBD uses max_k = 5). */
export const MAX_TOPK = 10;

/** Result of {@link cosineTopK}: row-major [Q, k] host arrays. */
export interface TopKResult {
  /** Global key indices (row index into the concatenated chunks), -1 for empty slots. */
  indices: Int32Array;
  /** Cosine similarities, -Infinity for empty slots. */
  scores: Float32Array;
}

/** Tile shape of the scan kernel; the per-thread register block is fixed at 4 x 4 in WGSL. */
interface ScanTiles {
  /** Threads along queries (each owns 4 queries). */
  tq: number;
  /** Threads along keys (each handles 4 keys per step). */
  tk: number;
  /** Workgroups to aim for, so that key splits keep every core busy when queries are few. */
  targetGroups: number;
}

const RQ = 4, RK = 4;

/** Tiles per adapter: lavapipe runs a workgroup per CPU thread, hardware wants many warps. */
function scanTiles(be: GpuBackend): ScanTiles {
  return be.isSoftware ? { tq: 8, tk: 8, targetGroups: 16 } : { tq: 16, tk: 8, targetGroups: 2048 };
}

function checkInputs(queries: Tensor, keys: Tensor[], k: number): { q: number; d: number } {
  if (!Number.isInteger(k) || k < 1 || k > MAX_TOPK) {
    throw new Error(`cosineTopK: k must be in 1..${MAX_TOPK}, got ${k}`);
  }
  if (queries.shape.length !== 2) {
    throw new Error(`cosineTopK: queries must be [Q, D], got [${queries.shape}]`);
  }
  const [q, d] = queries.shape;
  for (const [i, c] of keys.entries()) {
    if (c.shape.length !== 2 || c.shape[1] !== d) {
      throw new Error(`cosineTopK: key chunk ${i} has shape [${c.shape}], expected [*, ${d}]`);
    }
  }
  return { q, d };
}

/** Brute-force reference in f64 (normalise, dot, keep a sorted top-k per query). */
function cosineTopKCpu(queries: Tensor, keys: Tensor[], k: number, q: number, d: number): TopKResult {
  const normalized = (x: ArrayLike<number>, rows: number): Float64Array => {
    const y = new Float64Array(rows * d);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[r * d + j] ** 2;
      const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
      for (let j = 0; j < d; j++) y[r * d + j] = x[r * d + j] * inv;
    }
    return y;
  };
  const qn = normalized(queries.data, q);
  const indices = new Int32Array(q * k).fill(-1);
  const scores = new Float64Array(q * k).fill(-Infinity);
  let offset = 0;
  for (const chunk of keys) {
    const rows = chunk.shape[0];
    const kn = normalized(chunk.data, rows);
    for (let i = 0; i < q; i++) {
      const o = i * k;
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += qn[i * d + j] * kn[r * d + j];
        // Keys arrive in increasing index, so an equal score never displaces an earlier key.
        if (indices[o + k - 1] >= 0 && !(s > scores[o + k - 1])) continue;
        let j = k - 1;
        while (j > 0 && (indices[o + j - 1] < 0 || s > scores[o + j - 1])) {
          scores[o + j] = scores[o + j - 1];
          indices[o + j] = indices[o + j - 1];
          j--;
        }
        scores[o + j] = s;
        indices[o + j] = offset + r;
      }
    }
    offset += rows;
  }
  return { indices, scores: Float32Array.from(scores) };
}

/** 1 / max(|row|, 1e-12) for each row of x [rows, d]. */
function invNorms(be: GpuBackend, x: Tensor, rows: number, d: number): Tensor {
  const out = be.empty([Math.max(rows, 1)]);
  const { groups, row } = grid1d(rows, 64);
  be.dispatch(
    { file: "topk_prep", entry: "inv_norm" },
    packParams({ rows, d, d_pad: d, row }),
    [x, out],
    groups,
  );
  return out;
}

/** x [rows, d] padded with zero columns to a multiple of 4 (a new tensor), or x itself. */
function padded(be: GpuBackend, x: Tensor, rows: number, d: number): Tensor {
  if (d % 4 === 0) return x;
  const dPad = Math.ceil(d / 4) * 4;
  const out = be.empty([rows, dPad]);
  const { groups, row } = grid1d(rows * dPad);
  be.dispatch(
    { file: "topk_prep", entry: "pad" },
    packParams({ rows, d, d_pad: dPad, row }),
    [x, out],
    groups,
  );
  return out;
}

async function cosineTopKGpu(
  be: GpuBackend,
  queries: Tensor,
  keys: Tensor[],
  k: number,
  q: number,
  d: number,
): Promise<TopKResult> {
  const tiles = scanTiles(be);
  const qTiles = Math.ceil(q / (tiles.tq * RQ));
  if (qTiles > MAX_GROUPS) throw new Error(`cosineTopK: ${q} queries exceed one dispatch; split the queries`);
  const maxBinding = be.device.limits.maxStorageBufferBindingSize;
  const d4 = Math.ceil(d / 4);
  const temps: Tensor[] = [];
  // Running top-k over all chunks: [q, 2k] words, scores (-inf) then indices (-1).
  const init = new Uint32Array(q * 2 * k);
  for (let i = 0; i < q; i++) {
    init.fill(0xff800000, i * 2 * k, i * 2 * k + k);
    init.fill(0xffffffff, i * 2 * k + k, (i + 1) * 2 * k);
  }
  const best = be.tensor(init, [q, 2 * k], "u32");
  temps.push(best);
  const qPad = padded(be, queries, q, d);
  if (qPad !== queries) temps.push(qPad);
  const qInv = invNorms(be, queries, q, d);
  temps.push(qInv);
  let offset = 0;
  for (const chunk of keys) {
    const kn = chunk.shape[0];
    if (kn === 0) continue;
    if (kn * d4 * 16 > maxBinding) {
      throw new Error(
        `cosineTopK: a key chunk of ${kn} x ${d} exceeds the ${maxBinding}-byte storage binding limit; use smaller chunks`,
      );
    }
    if (offset + kn > 2 ** 31 - 1) throw new Error("cosineTopK: more than 2^31 - 1 keys");
    const step = tiles.tk * RK;
    const nsplit = Math.max(
      1,
      Math.min(Math.ceil(tiles.targetGroups / qTiles), Math.ceil(kn / step), MAX_GROUPS),
    );
    const perSplit = Math.ceil(kn / nsplit / step) * step;
    const used = Math.ceil(kn / perSplit);
    const kPad = padded(be, chunk, kn, d);
    const kInv = invNorms(be, chunk, kn, d);
    const partS = be.empty([used, q, k]), partI = be.empty([used, q, k], "i32");
    be.dispatch(
      { file: "topk_scan", constants: { TQ: tiles.tq, TK: tiles.tk } },
      packParams({ q, kn, d4, k, key_offset: offset, keys_per_split: perSplit, _pad0: 0, _pad1: 0 }),
      [qPad, kPad, qInv, kInv, partS, partI],
      [qTiles, used],
    );
    const { groups, row } = grid1d(q, 64);
    be.dispatch(
      { file: "topk_merge" },
      packParams({ q, k, nsplit: used, row }),
      [partS, partI, best],
      groups,
    );
    for (const t of [kInv, partS, partI]) be.release(t);
    if (kPad !== chunk) be.release(kPad);
    offset += kn;
  }
  const raw = await be.read(best);
  for (const t of temps) be.release(t);
  const words = new Uint32Array(raw.buffer, raw.byteOffset, raw.length);
  const scores = new Float32Array(q * k), indices = new Int32Array(q * k);
  const sBits = new Uint32Array(scores.buffer), iBits = new Uint32Array(indices.buffer);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < k; j++) {
      sBits[i * k + j] = words[i * 2 * k + j];
      iBits[i * k + j] = words[i * 2 * k + k + j];
    }
  }
  return { indices, scores };
}

/**
 * The k most cosine-similar keys of every query: queries [Q, D], keys given as
 * row chunks [K_i, D] of one key matrix (global index = row in the
 * concatenation), k in 1..10. Returns host arrays [Q, k] (see the module
 * comment for ordering, ties, zero rows and padding). On the GPU the running
 * top-k stays on the device across chunks and is read back once.
 */
export function cosineTopK(be: Backend, queries: Tensor, keys: Tensor[], k: number): Promise<TopKResult> {
  const { q, d } = checkInputs(queries, keys, k);
  if (be.kind === "cpu") return Promise.resolve(cosineTopKCpu(queries, keys, k, q, d));
  if (q === 0) return Promise.resolve({ indices: new Int32Array(0), scores: new Float32Array(0) });
  return cosineTopKGpu(be as GpuBackend, queries, keys, k, q, d);
}
