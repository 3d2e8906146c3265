/**
 * Per-level predictions from the k nearest keys: the majority label among the neighbours, its vote
 * share, and ties broken by the label of the nearest neighbour among the tied labels.
 * @module
 */
import { type Level, LEVELS, type Taxonomy } from "../data/taxonomy.ts";

/** One prediction at one taxonomic level. */
export interface LevelVote {
  /** Taxonomic level voted on. */
  level: Level;
  /** Majority label, or null when withheld (species of a possibly unseen query). */
  label: string | null;
  /** Neighbours agreeing with the majority label (0 when withheld). */
  votes: number;
  /** Neighbours counted (k). */
  of: number;
  /** votes / of. */
  share: number;
  /** Why the label is withheld, when it is. */
  withheld?: string;
}

/**
 * Majority vote over labels ordered nearest first. Ties between labels with equal counts go to the
 * label whose first occurrence is nearest.
 */
export function majorityVote(labelsNearestFirst: readonly string[]): { label: string; votes: number } {
  if (labelsNearestFirst.length === 0) throw new Error("majorityVote: no neighbours");
  const count = new Map<string, number>();
  for (const l of labelsNearestFirst) count.set(l, (count.get(l) ?? 0) + 1);
  // Map iteration order is first-occurrence order, i.e. nearest first: keep the first maximum.
  let best = "", votes = -1;
  for (const [l, c] of count) {
    if (c > votes) {
      best = l;
      votes = c;
    }
  }
  return { label: best, votes };
}

/**
 * Votes at every level over the neighbours' taxonomies (nearest first).
 * @param withholdSpecies reason to withhold the species level (e.g. below the open-set threshold)
 */
export function voteLevels(neighbours: readonly Taxonomy[], withholdSpecies?: string): LevelVote[] {
  const k = neighbours.length;
  return LEVELS.map((level) => {
    const { label, votes } = majorityVote(neighbours.map((t) => t[level]));
    if (level === "species" && withholdSpecies) {
      return { level, label: null, votes: 0, of: k, share: 0, withheld: withholdSpecies };
    }
    return { level, label, votes, of: k, share: votes / k };
  });
}
