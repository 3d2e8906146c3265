/**
 * Opening a key index folder for search (see build.ts for the layout).
 * @module
 */
import { join } from "node:path";
import { LEVELS, type Taxonomy } from "../data/taxonomy.ts";
import { type IndexManifest, type IndexModality, pairKey, readManifest } from "./manifest.ts";
import { inverseNorms, type KeyRows, topKCosine } from "./knn.ts";

/** One neighbour of a query. */
export interface Neighbour {
  /** 1-based rank. */
  rank: number;
  /** Key row in the index. */
  index: number;
  /** Cosine similarity. */
  similarity: number;
  /** The key's id (processid or image file name). */
  id: string;
  /** The key's taxonomic labels. */
  taxonomy: Taxonomy;
}

/** An opened key index. */
export interface KeyIndex {
  /** The index folder. */
  dir: string;
  /** Its parsed `manifest.json`. */
  manifest: IndexManifest;
  /** Key ids in row order. */
  ids: string[];
  /** Key labels in row order. */
  labels: Taxonomy[];
  /** Exact cosine top-k of one query embedding against the keys' `modality` embeddings. */
  search(query: ArrayLike<number>, modality: IndexModality, k: number): Neighbour[];
  /** Open-set threshold of a query -> key modality pair (null when not calibrated). */
  threshold(query: IndexModality, key: IndexModality): number | null;
}

async function readRows(path: string, dtype: "f32" | "f16", count: number, dim: number): Promise<KeyRows> {
  const bytes = await Deno.readFile(path);
  const width = dtype === "f16" ? 2 : 4;
  if (bytes.byteLength !== count * dim * width) {
    throw new Error(
      `${path}: ${bytes.byteLength} bytes, expected ${count} x ${dim} x ${width} (damaged index?)`,
    );
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("key index files are little-endian; this machine is big-endian");
  }
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return dtype === "f16" ? new Float16Array(buf) : new Float32Array(buf);
}

/** Opens an index folder; errors say whether it is unfinished, damaged or not an index. */
export async function openIndex(dir: string): Promise<KeyIndex> {
  const manifest = await readManifest(dir);
  const { count, dim, dtype } = manifest;
  const rows: Partial<Record<IndexModality, { keys: KeyRows; inv: Float32Array }>> = {};
  for (const m of manifest.modalities) {
    const file = manifest.files[m];
    if (!file) throw new Error(`${dir}/manifest.json: no file listed for modality ${m}`);
    const keys = await readRows(join(dir, file), dtype, count, dim);
    rows[m] = { keys, inv: inverseNorms(keys, dim) };
  }
  const ids: string[] = JSON.parse(await Deno.readTextFile(join(dir, manifest.files.ids)));
  const cols: Record<string, string[]> = JSON.parse(
    await Deno.readTextFile(join(dir, manifest.files.labels)),
  );
  if (ids.length !== count || LEVELS.some((l) => cols[l]?.length !== count)) {
    throw new Error(`${dir}: ids.json/labels.json do not have ${count} entries (damaged index?)`);
  }
  const labels = ids.map((_, i) => Object.fromEntries(LEVELS.map((l) => [l, cols[l][i]])) as Taxonomy);
  return {
    dir,
    manifest,
    ids,
    labels,
    search(query, modality, k) {
      const r = rows[modality];
      if (!r) {
        throw new Error(
          `index ${dir} has no ${modality} embeddings (has: ${manifest.modalities.join(", ")})`,
        );
      }
      return topKCosine(r.keys, r.inv, dim, query, k).map((h, i) => ({
        rank: i + 1,
        index: h.index,
        similarity: h.score,
        id: ids[h.index],
        taxonomy: labels[h.index],
      }));
    },
    threshold(q, k) {
      return manifest.calibration.pairs[pairKey(q, k)]?.threshold ?? null;
    },
  };
}
