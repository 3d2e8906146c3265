/**
 * BIOSCAN-1M split rules (spec 5.4, `dataset/create_splits.py`), deterministic from a seed.
 *
 * - Records whose species is `not_classified` -> `no_split` (pretraining only).
 * - Species with 1 record -> `single_species` (pretraining only).
 * - Species with >= 10 records: 80% seen / 20% unseen, chosen at random by species. Seen species'
 *   records are split 70/10/10/10 into `train_seen` / `val_seen` / `test_seen` / `seen_keys`.
 * - Unseen species and tail species (2-9 records) are split 50/50 by species into val and test;
 *   each species' records are split into keys (the larger half) and queries.
 * - `all_keys` = seen_keys + val_unseen_keys + test_unseen_keys;
 *   `no_split_and_seen_train` = no_split + single_species + train_seen (CLIBD's training set).
 * @module
 */
import { Rng } from "../util/rng.ts";
import { NOT_CLASSIFIED } from "./taxonomy.ts";

/** Split group names written to the HDF5 file, in a stable order. */
export const SPLIT_NAMES = [
  "no_split_and_seen_train",
  "no_split",
  "single_species",
  "train_seen",
  "val_seen",
  "test_seen",
  "seen_keys",
  "val_unseen",
  "val_unseen_keys",
  "test_unseen",
  "test_unseen_keys",
  "all_keys",
] as const;

/** One split group name. */
export type SplitName = typeof SPLIT_NAMES[number];

/** Row indices (into the input list, ascending) of each split. */
export type SplitAssignment = Record<SplitName, number[]>;

/** Split-rule parameters (defaults are BIOSCAN-1M's). */
export interface SplitOptions {
  seed?: number;
  /** Species with at least this many records are "head" species (default 10). */
  minHeadRecords?: number;
  /** Fraction of head species that are seen (default 0.8). */
  seenFraction?: number;
  /** Seen-species record fractions for val, test and keys (default 0.1 each; the rest is train). */
  seenVal?: number;
  seenTest?: number;
  seenKeys?: number;
}

function shuffled<T>(xs: T[], rng: Rng): T[] {
  const p = rng.permutation(xs.length);
  return Array.from(p, (i) => xs[i]);
}

/**
 * Assigns each record (given by its species label) to the split groups.
 * Species are processed in sorted order so the result depends only on the data and the seed.
 */
export function assignSplits(species: readonly string[], opts: SplitOptions = {}): SplitAssignment {
  const rng = new Rng(opts.seed ?? 0);
  const minHead = opts.minHeadRecords ?? 10;
  const fVal = opts.seenVal ?? 0.1, fTest = opts.seenTest ?? 0.1, fKey = opts.seenKeys ?? 0.1;
  const out = Object.fromEntries(SPLIT_NAMES.map((s) => [s, [] as number[]])) as SplitAssignment;
  const bySpecies = new Map<string, number[]>();
  species.forEach((s, i) => {
    if (s === NOT_CLASSIFIED || s.trim() === "") out.no_split.push(i);
    else {
      const l = bySpecies.get(s);
      if (l) l.push(i);
      else bySpecies.set(s, [i]);
    }
  });
  const names = [...bySpecies.keys()].sort();
  const head = names.filter((s) => bySpecies.get(s)!.length >= minHead);
  const tail = names.filter((s) => bySpecies.get(s)!.length >= 2 && bySpecies.get(s)!.length < minHead);
  for (const s of names) if (bySpecies.get(s)!.length === 1) out.single_species.push(bySpecies.get(s)![0]);

  const headShuffled = shuffled(head, rng);
  const nSeen = Math.round(headShuffled.length * (opts.seenFraction ?? 0.8));
  const seen = headShuffled.slice(0, nSeen).sort();
  const unseen = [...headShuffled.slice(nSeen), ...tail].sort();

  for (const s of seen) {
    const recs = shuffled(bySpecies.get(s)!, rng);
    const n = recs.length;
    // At least one record of every seen species in val, test and keys (n >= minHead >= 4).
    const nv = Math.max(1, Math.round(n * fVal)), nt = Math.max(1, Math.round(n * fTest));
    const nk = Math.max(1, Math.round(n * fKey));
    out.val_seen.push(...recs.slice(0, nv));
    out.test_seen.push(...recs.slice(nv, nv + nt));
    out.seen_keys.push(...recs.slice(nv + nt, nv + nt + nk));
    out.train_seen.push(...recs.slice(nv + nt + nk));
  }
  const unseenShuffled = shuffled(unseen, rng);
  const half = Math.ceil(unseenShuffled.length / 2);
  unseenShuffled.forEach((s, j) => {
    const recs = shuffled(bySpecies.get(s)!, rng);
    const nk = Math.ceil(recs.length / 2); // keys are the larger half (spec 5.4 counts)
    const [keys, queries] = j < half
      ? [out.val_unseen_keys, out.val_unseen]
      : [out.test_unseen_keys, out.test_unseen];
    keys.push(...recs.slice(0, nk));
    queries.push(...recs.slice(nk));
  });
  out.all_keys.push(...out.seen_keys, ...out.val_unseen_keys, ...out.test_unseen_keys);
  out.no_split_and_seen_train.push(...out.no_split, ...out.single_species, ...out.train_seen);
  for (const s of SPLIT_NAMES) out[s].sort((a, b) => a - b);
  return out;
}

/** Records and distinct species per split, for the summary table. */
export function splitSummary(a: SplitAssignment, species: readonly string[]): string {
  const rows = SPLIT_NAMES.map((s) => {
    const sp = new Set(a[s].map((i) => species[i]).filter((x) => x !== NOT_CLASSIFIED));
    return [s, String(a[s].length), String(sp.size)];
  });
  const w = [Math.max(5, ...rows.map((r) => r[0].length)), 8, 8];
  const line = (r: string[]) => r[0].padEnd(w[0]) + "  " + r[1].padStart(w[1]) + "  " + r[2].padStart(w[2]);
  return [line(["split", "records", "species"]), ...rows.map(line)].join("\n");
}
