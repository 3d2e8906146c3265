/**
 * Open-set threshold of a key index, calibrated on the keys themselves.
 *
 * Rule (per query -> key modality pair): treat each key i with a classified species as a query
 * (its query-modality embedding) against all other keys (their key-modality embedding), leaving i
 * itself out. Its same-species nearest-neighbour similarity is the best cosine to another key of
 * the same species; its other-species similarity is the best cosine to a key of a different species
 * (keys with species `not_classified` are left out on both sides). The threshold is the
 * `percentile`-th (default 5th) percentile, linear interpolation as numpy's default, of the
 * same-species values: about 95% of specimens of a species present in the keys score at least this
 * high against their own species. A query whose best similarity is lower is flagged "possibly
 * unseen species". `unseenFlagRate` is the share of keys whose best other-species similarity is below
 * the threshold: how often a specimen of a species missing from the keys would be flagged.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { matmul } from "../ops/matmul.ts";
import { Rng } from "../util/rng.ts";
import { NOT_CLASSIFIED } from "../data/taxonomy.ts";
import type { PairCalibration } from "./manifest.ts";

/** One-line statement of the rule, stored in the manifest. */
export const THRESHOLD_RULE: string =
  "per query->key modality pair: P-th percentile (linear interpolation) of the leave-one-out " +
  "same-species nearest-neighbour cosine similarities of the keys (keys with species not_classified " +
  "excluded); a query whose best similarity is below it is flagged 'possibly unseen species' and " +
  "its species prediction is withheld";

/** Percentile with linear interpolation between order statistics (numpy's default method). */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) throw new Error("percentile: no values");
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile: p must be in [0, 100], got ${p}`);
  const s = Float64Array.from(values).sort();
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Leave-one-out nearest-neighbour similarities of one calibration query. */
export interface LooNearest {
  /** Best similarity to another key of the same species, or null if it has none. */
  same: number | null;
  /** Best similarity to a key of another species, or null if there is none. */
  other: number | null;
}

/**
 * Nearest same- and other-species similarities of query key `self` given its similarities to all keys.
 * @param sims similarities to every key (index = key index)
 * @param self the query's own key index (left out)
 * @param species species label per key
 */
export function looNearest(sims: ArrayLike<number>, self: number, species: readonly string[]): LooNearest {
  const mine = species[self];
  let same = -Infinity, other = -Infinity;
  for (let j = 0; j < sims.length; j++) {
    if (j === self || species[j] === NOT_CLASSIFIED) continue;
    if (species[j] === mine) same = Math.max(same, sims[j]);
    else other = Math.max(other, sims[j]);
  }
  return { same: same === -Infinity ? null : same, other: other === -Infinity ? null : other };
}

/** Turns per-query LOO values into a pair calibration. */
export function summariseCalibration(
  loo: readonly LooNearest[],
  pair: { query: PairCalibration["query"]; key: PairCalibration["key"] },
  pct: number,
): PairCalibration {
  const same = loo.map((l) => l.same).filter((v): v is number => v !== null);
  const other = loo.map((l) => l.other).filter((v): v is number => v !== null);
  const threshold = same.length >= 2 ? percentile(same, pct) : null;
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    ...pair,
    threshold,
    percentile: pct,
    queriesUsed: loo.length,
    withSameSpecies: same.length,
    sameSpeciesNN: same.length
      ? { p5: round(percentile(same, 5)), median: round(percentile(same, 50)) }
      : null,
    otherSpeciesNN: other.length
      ? { median: round(percentile(other, 50)), p95: round(percentile(other, 95)) }
      : null,
    unseenFlagRate: threshold !== null && other.length
      ? other.filter((v) => v < threshold).length / other.length
      : null,
  };
}

function normalizedRows(data: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r] * dim;
    let ss = 0;
    for (let c = 0; c < dim; c++) ss += data[src + c] * data[src + c];
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let c = 0; c < dim; c++) out[r * dim + c] = data[src + c] * inv;
  }
  return out;
}

/** Options of {@link calibratePair}. */
export interface CalibrateOptions {
  /** Percentile of same-species LOO similarities (default 5). */
  percentile?: number;
  /** At most this many keys act as calibration queries (seeded sample; default 4096). */
  maxQueries?: number;
  /** Seed of that sample (default 0). */
  seed?: number;
  /** Query rows per similarity block (default 256). */
  blockRows?: number;
}

/**
 * Calibrates one modality pair: similarities are computed on the backend in blocks of query rows
 * against all keys ([block, count] at a time), the LOO maxima on the host.
 */
export async function calibratePair(
  be: Backend,
  queryEmb: Float32Array,
  keyEmb: Float32Array,
  dim: number,
  species: readonly string[],
  pair: { query: PairCalibration["query"]; key: PairCalibration["key"] },
  o: CalibrateOptions = {},
): Promise<PairCalibration> {
  const n = species.length, pct = o.percentile ?? 5, maxQ = o.maxQueries ?? 4096;
  const classified: number[] = [];
  for (let i = 0; i < n; i++) if (species[i] !== NOT_CLASSIFIED) classified.push(i);
  let chosen = classified;
  if (classified.length > maxQ) {
    const perm = new Rng(o.seed ?? 0).permutation(classified.length);
    chosen = Array.from(perm.subarray(0, maxQ), (p) => classified[p]).sort((a, b) => a - b);
  }
  const loo: LooNearest[] = [];
  if (chosen.length === 0 || n < 2) return summariseCalibration(loo, pair, pct);
  // Key matrix in row chunks under one storage binding; host similarity block <= 16M floats.
  const rowsPerChunk = Math.max(1, Math.floor((64 << 20) / (dim * 4)));
  const keys: { t: Tensor; start: number; rows: number }[] = [];
  const block = Math.max(1, Math.min(o.blockRows ?? 256, Math.floor((16 << 20) / n)));
  const sims = new Float32Array(block * n);
  try {
    for (let s = 0; s < n; s += rowsPerChunk) {
      const rows = Array.from({ length: Math.min(rowsPerChunk, n - s) }, (_, i) => s + i);
      keys.push({
        t: be.tensor(normalizedRows(keyEmb, dim, rows), [rows.length, dim]),
        start: s,
        rows: rows.length,
      });
    }
    for (let r = 0; r < chosen.length; r += block) {
      const rows = chosen.slice(r, r + block);
      const q = be.tensor(normalizedRows(queryEmb, dim, rows), [rows.length, dim]);
      try {
        for (const k of keys) {
          const s = matmul(be, q, k.t, { transB: true });
          const part = await be.read(s);
          be.release(s);
          for (let b = 0; b < rows.length; b++) {
            sims.set(part.subarray(b * k.rows, (b + 1) * k.rows), b * n + k.start);
          }
        }
      } finally {
        be.release(q);
      }
      rows.forEach((self, b) => loo.push(looNearest(sims.subarray(b * n, (b + 1) * n), self, species)));
    }
  } finally {
    for (const k of keys) be.release(k.t);
  }
  return summariseCalibration(loo, pair, pct);
}
