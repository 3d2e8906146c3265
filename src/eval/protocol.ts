/**
 * CLIBD's evaluation protocol (spec section 6; upstream `inference_and_print_result`):
 * every query feature type is searched against every key feature type of the same
 * width, for the seen and the unseen query sets against ONE key set, and scored
 * with micro and macro top-k accuracy at each taxonomic level.
 * @module
 */
import {
  type AccByK,
  LEVELS,
  type PerClassByK,
  predictLabels,
  type PredLabels,
  type Taxonomy,
  topKMacroAccuracy,
  topKMicroAccuracy,
} from "./metrics.ts";
import { type FeatureMatrix, makeSearch, type SearchFn } from "./search.ts";
import { CpuBackend } from "../cpu_backend.ts";

export type { FeatureMatrix, SearchFn };

/** Query feature types in CLIBD's order. */
export const QUERY_FEATURES = [
  "encoded_image_feature",
  "encoded_dna_feature",
  "encoded_language_feature",
  "averaged_feature",
  "concatenated_feature",
] as const;
/** Key feature types in CLIBD's order. */
export const KEY_FEATURES = [...QUERY_FEATURES, "all_key_features"] as const;
/** A feature type name. */
export type FeatureType = typeof KEY_FEATURES[number];

/** One evaluation split: features by type, labels and record ids. */
export interface FeatureSplit {
  /** Features by type (only the types present). */
  features: Partial<Record<FeatureType, FeatureMatrix>>;
  /** Ground-truth labels, one per row. */
  labels: Taxonomy[];
  /** Record ids (`image_file` for BIOSCAN-1M, `processid` for 5M), one per row. */
  ids: string[];
}

/** `acc_dict[query][key][seen|unseen][micro_acc|macro_acc][k][level]` (`{}` for width mismatches). */
export type AccDict = Record<string, Record<string, Record<string, Record<string, AccByK>>>>;
/** `per_class_acc[query][key][seen|unseen][k][level][class]`. */
export type PerClassDict = Record<string, Record<string, Record<string, PerClassByK>>>;
/** CLIBD's `pred_dict`: ids, ground truth and top-k labels per query/key pair. */
export type PredDict = Record<string, unknown>;

/** Everything an evaluation produces. */
export interface EvalResult {
  /** Top-k accuracies: query modality -> key modality -> split -> k -> level. */
  accDict: AccDict;
  /** Per-class accuracies, keyed like `accDict` and then by class name. */
  perClassAcc: PerClassDict;
  /** Predicted labels per query, keyed like `accDict`. */
  predDict: PredDict;
}

/**
 * Adds CLIBD's derived features to a split that has image and DNA features:
 * `averaged_feature` (mean of the two), `concatenated_feature` ([image | dna]) and,
 * for the key set with all three modalities, `all_key_features` (image, DNA and
 * text rows stacked; labels tripled by the caller via {@link allKeyLabels}).
 */
export function addDerivedFeatures(split: FeatureSplit, isKeySet: boolean): FeatureSplit {
  const f = { ...split.features };
  const img = f.encoded_image_feature, dna = f.encoded_dna_feature, txt = f.encoded_language_feature;
  if (img && dna && !f.averaged_feature) {
    if (img.dim !== dna.dim || img.data.length !== dna.data.length) {
      throw new Error(
        `image features [${img.data.length / img.dim}, ${img.dim}] and DNA features ` +
          `[${dna.data.length / dna.dim}, ${dna.dim}] differ in shape`,
      );
    }
    const avg = new Float32Array(img.data.length);
    for (let i = 0; i < avg.length; i++) avg[i] = (img.data[i] + dna.data[i]) / 2;
    f.averaged_feature = { data: avg, dim: img.dim };
    const rows = img.data.length / img.dim;
    const cat = new Float32Array(rows * img.dim * 2);
    for (let r = 0; r < rows; r++) {
      cat.set(img.data.subarray(r * img.dim, (r + 1) * img.dim), r * 2 * img.dim);
      cat.set(dna.data.subarray(r * dna.dim, (r + 1) * dna.dim), r * 2 * img.dim + img.dim);
    }
    f.concatenated_feature = { data: cat, dim: img.dim * 2 };
  }
  if (isKeySet && img && dna && txt && !f.all_key_features && txt.dim === img.dim) {
    const all = new Float32Array(img.data.length * 3);
    all.set(img.data, 0);
    all.set(dna.data, img.data.length);
    all.set(txt.data, img.data.length * 2);
    f.all_key_features = { data: all, dim: img.dim };
  }
  return { ...split, features: f };
}

/** Labels of `all_key_features`: the key labels three times (image, DNA, text rows). */
export function allKeyLabels(keys: FeatureSplit): Taxonomy[] {
  return [...keys.labels, ...keys.labels, ...keys.labels];
}

/** Progress callback: called after each query/key pair. */
export type EvalProgress = (done: number, total: number, label: string) => void;

/** Runs the whole protocol. `kList` defaults to CLIBD's [1, 3, 5]. */
export async function evaluateRetrieval(
  seen: FeatureSplit,
  unseen: FeatureSplit,
  keys: FeatureSplit,
  opts: { kList?: number[]; search?: SearchFn; onProgress?: EvalProgress } = {},
): Promise<EvalResult> {
  const kList = opts.kList ?? [1, 3, 5];
  const maxK = kList[kList.length - 1];
  const search = opts.search ?? makeSearch(new CpuBackend());
  for (const [name, s] of [["seen", seen], ["unseen", unseen], ["key", keys]] as const) {
    if (s.labels.length === 0) throw new Error(`evaluation: the ${name} split has no records`);
  }
  const accDict: AccDict = {}, perClassAcc: PerClassDict = {};
  const predDict: PredDict = {
    seen_id: seen.ids,
    seen_gt_label: seen.labels,
    unseen_id: unseen.ids,
    unseen_gt_label: unseen.labels,
  };
  const pairs: [FeatureType, FeatureType][] = [];
  for (const q of QUERY_FEATURES) {
    if (!seen.features[q]) continue;
    for (const k of KEY_FEATURES) if (keys.features[k]) pairs.push([q, k]);
  }
  let done = 0;
  for (const q of QUERY_FEATURES) {
    if (!seen.features[q]) continue;
    accDict[q] = {};
    perClassAcc[q] = {};
    const predQ: Record<string, unknown> = {};
    predDict[q] = predQ;
    for (const k of KEY_FEATURES) {
      const keyF = keys.features[k];
      if (!keyF) continue;
      accDict[q][k] = {};
      perClassAcc[q][k] = {};
      predQ[k] = {};
      const sF = seen.features[q], uF = unseen.features[q];
      done++;
      // CLIBD leaves `{}` for pairs of different widths (e.g. concatenated query vs image keys).
      if (!sF || !uF || keyF.dim !== sF.dim || keyF.dim !== uF.dim) continue;
      const keyLabels = k === "all_key_features" ? allKeyLabels(keys) : keys.labels;
      const seenPred = predictLabels((await search(sF, keyF, maxK)).indices, maxK, keyLabels);
      const unseenPred = predictLabels((await search(uF, keyF, maxK)).indices, maxK, keyLabels);
      predQ[k] = { curr_seen_pred_list: seenPred, curr_unseen_pred_list: unseenPred };
      const score = (pred: PredLabels[], gt: Taxonomy[]) => {
        const { macro, perClass } = topKMacroAccuracy(pred, gt, kList);
        return { acc: { micro_acc: topKMicroAccuracy(pred, gt, kList), macro_acc: macro }, perClass };
      };
      const s = score(seenPred, seen.labels), u = score(unseenPred, unseen.labels);
      accDict[q][k] = { seen: s.acc, unseen: u.acc };
      perClassAcc[q][k] = { seen: s.perClass, unseen: u.perClass };
      opts.onProgress?.(done, pairs.length, `${q} -> ${k}`);
    }
  }
  return { accDict, perClassAcc, predDict };
}

/**
 * CLIBD's model-selection score (`compute_overall_acc` in `scripts/train_cl.py`): the
 * mean of every accuracy in the acc dict except those at k = 3 and k = 5, i.e. every
 * top-1 accuracy with the default k list (all query/key pairs, seen and unseen,
 * micro and macro, all four levels).
 */
export function overallTop1(acc: AccDict): number {
  const values: number[] = [];
  for (const byKey of Object.values(acc)) {
    for (const bySplit of Object.values(byKey)) {
      for (const byType of Object.values(bySplit)) {
        for (const byK of Object.values(byType)) {
          for (const [k, byLevel] of Object.entries(byK)) {
            if (k === "3" || k === "5") continue; // CLIBD skips exactly these two
            for (const level of LEVELS) if (level in byLevel) values.push(byLevel[level]);
          }
        }
      }
    }
  }
  if (values.length === 0) throw new Error("overallTop1: the accuracy dict has no top-1 entries");
  return values.reduce((a, b) => a + b, 0) / values.length;
}
