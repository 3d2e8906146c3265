/**
 * Taxonomy labels: the four levels CLIBD predicts, the literal `not_classified`
 * placeholder for missing levels (spec 1.4, 10.5), and the text string built from them.
 * @module
 */

/** The four taxonomic levels, coarse to fine, in the order CLIBD joins them. */
export const LEVELS = ["order", "family", "genus", "species"] as const;

/** One taxonomic level name. */
export type Level = typeof LEVELS[number];

/** Literal placeholder CLIBD stores (and feeds to the text encoder) for a missing level. */
export const NOT_CLASSIFIED = "not_classified";

/** The four labels of one record. */
export type Taxonomy = Record<Level, string>;

/** Values that metadata tables use for "no label" (pandas NaN, None, empty cells). */
const MISSING = new Set(["", "nan", "NaN", "None", "none", "null", "NA", "N/A", NOT_CLASSIFIED]);

/**
 * Returns the label CLIBD would store for a raw metadata cell: trimmed, or
 * `not_classified` when the cell is empty or one of the usual missing-value markers.
 */
export function normaliseLabel(raw: string | null | undefined): string {
  if (raw == null) return NOT_CLASSIFIED;
  const v = raw.trim();
  return MISSING.has(v) ? NOT_CLASSIFIED : v;
}

/** True when the label is the `not_classified` placeholder. */
export function isClassified(label: string): boolean {
  return label !== NOT_CLASSIFIED;
}

/**
 * The text CLIBD encodes: `order + ' ' + family + ' ' + genus + ' ' + species`
 * (spec 1.4). Missing levels must already be `not_classified` (see {@link normaliseLabel}).
 */
export function taxonomyString(t: Taxonomy): string {
  return `${t.order} ${t.family} ${t.genus} ${t.species}`;
}
