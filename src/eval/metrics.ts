/**
 * CLIBD's retrieval metrics (spec section 6; upstream `bioscanclip/util/util.py`):
 * a query is right at a level when its label appears among the labels of its k
 * nearest keys at that level. Micro = right / queries; macro = mean over the
 * classes present among the queries of the per-class accuracy.
 * @module
 */

import { type Level, LEVELS, type Taxonomy } from "../data/taxonomy.ts";

export { type Level, LEVELS, type Taxonomy };
/** Labels of a query's nearest keys, nearest first, per level (CLIBD's `pred_list` entry). */
export type PredLabels = Record<Level, string[]>;
/** `[k][level] -> accuracy` (JSON object keys are the k values). */
export type AccByK = Record<string, Record<Level, number>>;
/** `[k][level][class] -> accuracy`. */
export type PerClassByK = Record<string, Record<Level, Record<string, number>>>;

/**
 * Turns nearest-key indices [Q, maxK] into label lists per level. An index of -1
 * (fewer keys than maxK) contributes no label. (CLIBD would index `keys_label[-1]`,
 * the last key, in that case: an accident of Python indexing we do not copy.)
 */
export function predictLabels(
  indices: Int32Array,
  maxK: number,
  keyLabels: readonly Taxonomy[],
): PredLabels[] {
  const q = maxK === 0 ? 0 : indices.length / maxK;
  const out: PredLabels[] = [];
  for (let i = 0; i < q; i++) {
    const p = { order: [], family: [], genus: [], species: [] } as PredLabels;
    for (let j = 0; j < maxK; j++) {
      const key = indices[i * maxK + j];
      if (key < 0) continue;
      const lab = keyLabels[key];
      if (!lab) {
        throw new Error(`predictLabels: key index ${key} is outside the ${keyLabels.length} key labels`);
      }
      for (const level of LEVELS) p[level].push(lab[level]);
    }
    out.push(p);
  }
  return out;
}

function checkLengths(what: string, preds: readonly PredLabels[], gts: readonly Taxonomy[]): void {
  if (preds.length !== gts.length) {
    throw new Error(`${what}: ${preds.length} predictions for ${gts.length} ground-truth labels`);
  }
  if (gts.length === 0) throw new Error(`${what}: the query set is empty, so accuracy is undefined`);
}

/** Micro top-k accuracy per k and level (`top_k_micro_accuracy`). */
export function topKMicroAccuracy(
  preds: readonly PredLabels[],
  gts: readonly Taxonomy[],
  kList: readonly number[],
): AccByK {
  checkLengths("micro accuracy", preds, gts);
  const out: AccByK = {};
  for (const k of kList) {
    const row = {} as Record<Level, number>;
    for (const level of LEVELS) {
      let right = 0;
      for (let i = 0; i < gts.length; i++) if (preds[i][level].slice(0, k).includes(gts[i][level])) right++;
      row[level] = right / gts.length;
    }
    out[String(k)] = row;
  }
  return out;
}

/**
 * Macro top-k accuracy per k and level and the per-class accuracies
 * (`top_k_macro_accuracy`). Classes are those present among the queries, in
 * order of first appearance (as the Python dicts are).
 */
export function topKMacroAccuracy(
  preds: readonly PredLabels[],
  gts: readonly Taxonomy[],
  kList: readonly number[],
): { macro: AccByK; perClass: PerClassByK } {
  checkLengths("macro accuracy", preds, gts);
  const macro: AccByK = {}, perClass: PerClassByK = {};
  for (const k of kList) {
    const mRow = {} as Record<Level, number>;
    const pRow = {} as Record<Level, Record<string, number>>;
    for (const level of LEVELS) {
      const right = new Map<string, number>(), total = new Map<string, number>();
      for (let i = 0; i < gts.length; i++) {
        const gt = gts[i][level];
        total.set(gt, (total.get(gt) ?? 0) + 1);
        right.set(gt, (right.get(gt) ?? 0) + (preds[i][level].slice(0, k).includes(gt) ? 1 : 0));
      }
      const perClassAcc: Record<string, number> = {};
      let sum = 0;
      for (const [cls, n] of total) {
        const acc = right.get(cls)! / n;
        perClassAcc[cls] = acc;
        sum += acc;
      }
      mRow[level] = sum / total.size;
      pRow[level] = perClassAcc;
    }
    macro[String(k)] = mRow;
    perClass[String(k)] = pRow;
  }
  return { macro, perClass };
}

/** Harmonic mean of seen and unseen accuracy (0 when either is 0), as CLIBD's tables. */
export function harmonicMean(seen: number, unseen: number): number {
  return seen <= 0 || unseen <= 0 ? 0 : 2 / (1 / seen + 1 / unseen);
}
