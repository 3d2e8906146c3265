/**
 * CLIBD's embedding files (spec 9.4):
 * - `extracted_feature_from_{test,val}_split.hdf5` with groups `seen`, `unseen`, `key`
 *   holding one dataset per feature type (float64 in CLIBD's files), plus the sibling
 *   `labels_{split}.json` (`seen_gt_dict`, `unseen_gt_dict`, `key_gt_dict`) and
 *   `processed_id_{split}.json` (`seen_id_list`, `unseen_id_list`, `key_id_list`);
 * - `extracted_features_of_{split}.hdf5`: flat `encoded_*_feature` datasets, the
 *   `{order,family,genus,species}_list` strings and `file_name` or `processid`.
 * @module
 */
import { dirname, join } from "node:path";
import { type DatasetSpec, Hdf5File, writeDatasets } from "../data/hdf5.ts";
import { LEVELS, type Taxonomy } from "./metrics.ts";
import { type FeatureMatrix, type FeatureSplit, type FeatureType, KEY_FEATURES } from "./protocol.ts";
import { writeFileAtomic } from "../util/atomic.ts";

/** The three splits of an evaluation. */
export interface EvalSplits {
  /** Queries of seen species. */
  seen: FeatureSplit;
  /** Queries of unseen species. */
  unseen: FeatureSplit;
  /** The key set the queries are matched against. */
  keys: FeatureSplit;
}

const GROUPS = [["seen", "seen"], ["unseen", "unseen"], ["keys", "key"]] as const;

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message} (it must sit next to the embeddings HDF5)`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function labelList(v: unknown, file: string, field: string): Taxonomy[] {
  if (!Array.isArray(v)) throw new Error(`${file}: "${field}" is missing or not a list`);
  return v.map((x, i) => {
    const t = x as Record<string, unknown>;
    for (const l of LEVELS) {
      if (typeof t?.[l] !== "string") throw new Error(`${file}: ${field}[${i}] has no string "${l}"`);
    }
    return {
      order: t.order as string,
      family: t.family as string,
      genus: t.genus as string,
      species: t.species as string,
    };
  });
}

function stringList(v: unknown, file: string, field: string): string[] {
  if (!Array.isArray(v)) throw new Error(`${file}: "${field}" is missing or not a list`);
  return v.map(String);
}

/**
 * Reads a released CLIBD `extracted_feature_from_{split}_split.hdf5` and its label and id
 * JSON files (found next to it as `labels_{split}.json` and `processed_id_{split}.json`
 * unless given). Features are converted to float32, as CLIBD's search does.
 */
export async function readExtractedFeatures(
  hdf5Path: string,
  opts: { labelsPath?: string; idsPath?: string } = {},
): Promise<EvalSplits> {
  const m = hdf5Path.match(/extracted_feature_from_(\w+?)_split\.hdf5$/);
  const tag = m?.[1] ?? "test";
  const labelsPath = opts.labelsPath ?? join(dirname(hdf5Path), `labels_${tag}.json`);
  const idsPath = opts.idsPath ?? join(dirname(hdf5Path), `processed_id_${tag}.json`);
  // The HDF5 first, so a wrong path or a non-HDF5 file is reported as such.
  const f = await Hdf5File.open(hdf5Path);
  let labels: Record<string, unknown>, ids: Record<string, unknown>;
  try {
    labels = readJson(labelsPath);
    ids = readJson(idsPath);
  } catch (e) {
    f.close();
    throw e;
  }
  try {
    const out: Partial<EvalSplits> = {};
    for (const [name, group] of GROUPS) {
      if (!f.has(group)) {
        throw new Error(
          `${hdf5Path}: group "${group}" is missing (groups present: ${f.groups().join(", ")})`,
        );
      }
      const features: Partial<Record<FeatureType, FeatureMatrix>> = {};
      for (const type of KEY_FEATURES) {
        const path = `${group}/${type}`;
        if (!f.has(path)) continue;
        const shape = f.shape(path);
        if (shape.length !== 2) {
          throw new Error(`${hdf5Path}: ${path} has shape [${shape}], expected [N, dim]`);
        }
        const raw = f.readRows(path, 0, shape[0]);
        if (!(raw instanceof Float64Array || raw instanceof Float32Array)) {
          throw new Error(`${hdf5Path}: ${path} is not a float dataset (dtype ${f.dtype(path)})`);
        }
        features[type] = { data: raw instanceof Float32Array ? raw : Float32Array.from(raw), dim: shape[1] };
      }
      const gtField = `${group}_gt_dict`, idField = `${group}_id_list`;
      const split: FeatureSplit = {
        features,
        labels: labelList(labels[gtField], labelsPath, gtField),
        ids: stringList(ids[idField], idsPath, idField),
      };
      for (const [type, mat] of Object.entries(features)) {
        const rows = mat!.data.length / mat!.dim;
        const expected = type === "all_key_features" ? split.labels.length * 3 : split.labels.length;
        if (rows !== expected) {
          throw new Error(
            `${hdf5Path}: ${group}/${type} has ${rows} rows but ${labelsPath} lists ` +
              `${split.labels.length} ${group} labels`,
          );
        }
      }
      out[name] = split;
    }
    return out as EvalSplits;
  } finally {
    f.close();
  }
}

/**
 * Writes the three splits in CLIBD's `extracted_feature_from_{tag}_split.hdf5` layout
 * (float64, as CLIBD's files) plus `labels_{tag}.json` and `processed_id_{tag}.json`.
 */
export async function writeExtractedFeatures(dir: string, tag: string, s: EvalSplits): Promise<string> {
  const specs: Record<string, DatasetSpec> = {};
  for (const [name, group] of GROUPS) {
    for (const [type, mat] of Object.entries(s[name].features)) {
      specs[`${group}/${type}`] = {
        data: Float64Array.from(mat!.data),
        shape: [mat!.data.length / mat!.dim, mat!.dim],
      };
    }
  }
  const path = join(dir, `extracted_feature_from_${tag}_split.hdf5`);
  await writeDatasets(path, specs);
  await writeFileAtomic(
    join(dir, `labels_${tag}.json`),
    JSON.stringify(
      { seen_gt_dict: s.seen.labels, unseen_gt_dict: s.unseen.labels, key_gt_dict: s.keys.labels },
      null,
      4,
    ),
  );
  await writeFileAtomic(
    join(dir, `processed_id_${tag}.json`),
    JSON.stringify(
      { seen_id_list: s.seen.ids, unseen_id_list: s.unseen.ids, key_id_list: s.keys.ids },
      null,
      4,
    ),
  );
  return path;
}

/**
 * Writes one split in the layout of CLIBD's `extracted_features_of_{split}.hdf5`
 * (`extract_embedding.py`): flat feature datasets, label lists and the id list
 * (`file_name` for BIOSCAN-1M, `processid` for BIOSCAN-5M).
 */
export async function writeSplitEmbeddings(
  path: string,
  split: FeatureSplit,
  idField: "file_name" | "processid",
): Promise<void> {
  const specs: Record<string, DatasetSpec> = {};
  for (const type of ["encoded_image_feature", "encoded_dna_feature", "encoded_language_feature"] as const) {
    const mat = split.features[type];
    if (mat) specs[type] = { data: mat.data, shape: [mat.data.length / mat.dim, mat.dim] };
  }
  for (const l of LEVELS) specs[`${l}_list`] = { data: split.labels.map((t) => t[l]) };
  specs[idField] = { data: split.ids };
  await writeDatasets(path, specs);
}
