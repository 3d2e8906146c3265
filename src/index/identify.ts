/**
 * Identifying specimens against a key index: embed each query (photo or barcode) with the index's
 * model, take its k nearest keys, vote per taxonomic level, and withhold the species when the best
 * similarity is below the index's open-set threshold ("possibly unseen species").
 * @module
 */
import type { ClibdModel } from "../models/clibd.ts";
import { tokenizeDnaBatch } from "../data/dna.ts";
import type { FileIdentity } from "./hash.ts";
import type { IndexManifest, IndexModality } from "./manifest.ts";
import type { KeyIndex, Neighbour } from "./open.ts";
import { checkBarcode, loadQueryImage, type QueryInput } from "./queries.ts";
import { type LevelVote, voteLevels } from "./votes.ts";

/** The answer to one query. */
export type QueryAnswer =
  & { name: string; kind: "image" | "barcode"; warnings: string[] }
  & ({
    ok: true;
    /** Key modality searched. */
    against: IndexModality;
    neighbours: Neighbour[];
    /** Best similarity (the first neighbour's). */
    best: number;
    /** Open-set threshold of this modality pair, or null if uncalibrated. */
    threshold: number | null;
    possiblyUnseen: boolean;
    prediction: LevelVote[];
  } | { ok: false; error: string });

/** Options of {@link identify}. */
export interface IdentifyOptions {
  /** Neighbours per query (default 5). */
  k?: number;
  /** Key modality image queries search (default "image"; "dna" = cross-modal image -> DNA). */
  imagesAgainst?: IndexModality;
  /** Queries per forward pass (default 32). */
  batchSize?: number;
}

/**
 * Refuses a model that is not the one the index was built with.
 * @param ckpt identity of the checkpoint about to be used
 * @param configJson the model config about to be used (JSON-comparable), if known
 * @throws Error naming both checkpoints (paths and hash prefixes) or the config mismatch
 */
export function assertSameModel(m: IndexManifest, ckpt: FileIdentity, config?: unknown): void {
  if (ckpt.sha256 !== m.checkpoint.sha256) {
    throw new Error(
      `the index was built with another model: index checkpoint ${m.checkpoint.path} ` +
        `(sha256 ${m.checkpoint.sha256.slice(0, 12)}…, ${m.checkpoint.bytes} bytes) but --checkpoint ` +
        `${ckpt.path} has sha256 ${ckpt.sha256.slice(0, 12)}… (${ckpt.bytes} bytes); ` +
        `embeddings of different models are not comparable — rebuild the index or use its checkpoint`,
    );
  }
  if (config !== undefined && JSON.stringify(config) !== JSON.stringify(m.model.config)) {
    throw new Error(
      `the model config given differs from the one the index was built with (${m.model.configSource}); ` +
        `use the index's config or rebuild the index`,
    );
  }
}

async function embedRows(
  model: ClibdModel,
  kind: "image" | "barcode",
  rows: (Float32Array | string)[],
  m: IndexManifest,
  batchSize: number,
): Promise<Float32Array[]> {
  const be = model.be, out: Float32Array[] = [];
  const p = m.model.preprocess;
  for (let s = 0; s < rows.length; s += batchSize) {
    const part = rows.slice(s, s + batchSize);
    const t = be.tidy(() => {
      if (kind === "image") {
        const px = part as Float32Array[], C = p.imageCrop, img = new Float32Array(px.length * 3 * C * C);
        px.forEach((x, i) => img.set(x, i * 3 * C * C));
        return model.embedImages(be.tensor(img, [px.length, 3, C, C]));
      }
      const ids = tokenizeDnaBatch(part as string[], { k: p.dnaK, maxLen: p.dnaMaxLen });
      return model.embedDna(be.tensor(ids, [part.length, ids.length / part.length], "i32"));
    });
    const host = await be.read(t);
    be.release(t);
    const d = host.length / part.length;
    for (let i = 0; i < part.length; i++) out.push(Float32Array.from(host.subarray(i * d, (i + 1) * d)));
  }
  return out;
}

/** Answers every query; a bad input yields `ok: false` with its reason and never stops the others. */
export async function identify(
  model: ClibdModel,
  index: KeyIndex,
  inputs: readonly QueryInput[],
  o: IdentifyOptions = {},
): Promise<QueryAnswer[]> {
  const k = o.k ?? 5, m = index.manifest;
  const against = o.imagesAgainst ?? "image";
  const answers: QueryAnswer[] = inputs.map((q) => ({
    name: q.name,
    kind: q.kind,
    warnings: [],
    ok: false,
    error: q.error ?? "",
  }));
  const ready: Record<"image" | "barcode", { at: number; row: Float32Array | string }[]> = {
    image: [],
    barcode: [],
  };
  for (let i = 0; i < inputs.length; i++) {
    const q = inputs[i], a = answers[i];
    if (q.error) continue;
    try {
      if (q.kind === "image") {
        if (!model.image) throw new Error("the index's model has no image tower");
        if (!m.modalities.includes(against)) throw new Error(`the index has no ${against} embeddings`);
        ready.image.push({ at: i, row: await loadQueryImage(q.path!, m.model.preprocess) });
      } else {
        if (!model.dna) throw new Error("the index's model has no DNA tower");
        if (!m.modalities.includes("dna")) throw new Error("the index has no DNA embeddings");
        const c = checkBarcode(q.sequence ?? "", m.model.preprocess);
        a.warnings.push(...c.warnings);
        ready.barcode.push({ at: i, row: c.sequence });
      }
    } catch (e) {
      (a as { error: string }).error = (e as Error).message;
    }
  }
  for (const kind of ["image", "barcode"] as const) {
    const list = ready[kind];
    if (!list.length) continue;
    const embs = await embedRows(model, kind, list.map((r) => r.row), m, o.batchSize ?? 32);
    const keyMod: IndexModality = kind === "image" ? against : "dna";
    const qMod: IndexModality = kind === "image" ? "image" : "dna";
    list.forEach((r, j) => {
      const neighbours = index.search(embs[j], keyMod, k);
      const best = neighbours[0].similarity;
      const threshold = index.threshold(qMod, keyMod);
      const possiblyUnseen = threshold !== null && best < threshold;
      const why = possiblyUnseen
        ? `possibly unseen species: best similarity ${best.toFixed(4)} < threshold ${threshold!.toFixed(4)}`
        : undefined;
      const prev = answers[r.at];
      answers[r.at] = {
        name: prev.name,
        kind: prev.kind,
        warnings: prev.warnings,
        ok: true,
        against: keyMod,
        neighbours,
        best,
        threshold,
        possiblyUnseen,
        prediction: voteLevels(neighbours.map((n) => n.taxonomy), why),
      };
    });
  }
  return answers;
}
