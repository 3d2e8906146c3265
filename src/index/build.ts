/**
 * Building a key index folder from one split of a CLIBD HDF5 file, resumably.
 *
 * Layout of `<out>/`:
 *   manifest.json          written last (see manifest.ts); its presence means "complete"
 *   image.<dtype>.bin      raw little-endian [count, dim] embeddings (f32, or f16 with dtype "f16")
 *   dna.<dtype>.bin
 *   labels.json            { order: [...], family: [...], genus: [...], species: [...] }
 *   ids.json               record ids in key order
 * While building: `build.json` (the settings, checked on resume) and `parts/part-NNNNNN.safetensors`,
 * one per `chunkSize` records of the split (f32 embeddings + ids and labels in the metadata), each
 * written atomically. A restarted build skips the parts already written, so an interruption costs at
 * most one chunk. Both are removed once the manifest is written.
 * @module
 */
import { join, resolve } from "node:path";
import type { Backend } from "../tensor.ts";
import { loadClibdModel } from "../models/load.ts";
import type { ClibdModel } from "../models/clibd.ts";
import { DataLoader } from "../data/loader.ts";
import { batchToDevice } from "../data/to_device.ts";
import { LEVELS, type Taxonomy } from "../data/taxonomy.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import type { StateDict } from "../io/host_tensor.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { fileIdentity } from "./hash.ts";
import {
  type IndexDtype,
  type IndexManifest,
  type IndexModality,
  type PairCalibration,
  pairKey,
} from "./manifest.ts";
import { type ModelSpec, resolveModelSpec } from "./model_source.ts";
import { type CalibrateOptions, calibratePair, THRESHOLD_RULE } from "./threshold.ts";

/** Options of {@link buildIndex}. */
export interface BuildIndexOptions {
  /** Backend that runs the model (and the calibration similarities). */
  be: Backend;
  /** CLIBD checkpoint (safetensors or .pth). */
  checkpoint: string;
  /** Run-config YAML giving the architecture; default: the config stored in the checkpoint. */
  config?: string;
  /** An already resolved architecture (takes precedence over `config`). */
  spec?: ModelSpec;
  /** HDF5 data file and split (CLIBD: all_keys). */
  data: string;
  /** Split of the HDF5 file whose records become the keys (CLIBD: all_keys). */
  split: string;
  /** Output folder. */
  out: string;
  /** Embedding storage precision (default f32; f16 halves disk and memory). */
  dtype?: IndexDtype;
  /** Records per resumable part (default 512). */
  chunkSize?: number;
  /** Records per forward pass (default 64). */
  batchSize?: number;
  /** Image decode workers (default: the loader's). */
  workers?: number;
  /** Stop after writing this many new parts (an interruption on purpose; rerun to continue). */
  maxChunks?: number;
  /** Open-set threshold calibration settings. */
  calibration?: CalibrateOptions;
  /** Called after every batch with records done (including resumed parts) and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Status lines (default: none). */
  log?: (line: string) => void;
}

/** What a call to {@link buildIndex} did. */
export interface BuildResult {
  /** True when the manifest exists (now or already before). */
  complete: boolean;
  /** Parts found from an earlier run. */
  resumedChunks: number;
  /** Parts written by this call. */
  newChunks: number;
  /** Parts the index is built in. */
  totalChunks: number;
  /** The manifest when the index is complete, else null. */
  manifest: IndexManifest | null;
}

interface BuildSettings {
  checkpointSha256: string;
  data: string;
  split: string;
  chunkSize: number;
  spec: ModelSpec;
}

interface Part {
  ids: string[];
  labels: Taxonomy[];
  emb: Partial<Record<IndexModality, Float32Array>>;
}

const partName = (c: number) => `part-${String(c).padStart(6, "0")}.safetensors`;

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

function sameSettings(a: BuildSettings, b: BuildSettings): string | null {
  if (a.checkpointSha256 !== b.checkpointSha256) return "checkpoint (sha256 differs)";
  if (a.data !== b.data || a.split !== b.split) return `data (${a.data}:${a.split} vs ${b.data}:${b.split})`;
  if (a.chunkSize !== b.chunkSize) return `chunk size (${a.chunkSize} vs ${b.chunkSize})`;
  if (JSON.stringify(a.spec.config) !== JSON.stringify(b.spec.config)) return "model config";
  if (JSON.stringify(a.spec.preprocess) !== JSON.stringify(b.spec.preprocess)) return "preprocessing";
  return null;
}

async function writePart(path: string, part: Part, dim: number): Promise<void> {
  const sd: StateDict = new Map();
  for (const [m, e] of Object.entries(part.emb)) {
    if (e && part.ids.length) sd.set(m, { shape: [part.ids.length, dim], dtype: "f32", data: e });
  }
  await writeSafetensors(path, sd, {
    ids: JSON.stringify(part.ids),
    labels: JSON.stringify(part.labels),
    dim: String(dim),
  });
}

async function readPart(path: string): Promise<Part & { dim: number }> {
  const { stateDict, metadata } = await readSafetensors(path);
  const emb: Part["emb"] = {};
  for (const [k, t] of stateDict) emb[k as IndexModality] = t.data as Float32Array;
  return {
    ids: JSON.parse(metadata.ids as string),
    labels: JSON.parse(metadata.labels as string),
    dim: Number(metadata.dim),
    emb,
  };
}

/** Embeds the split into parts, skipping parts already on disk. Returns the parts written now. */
async function embedParts(
  model: ClibdModel,
  o: BuildIndexOptions,
  s: BuildSettings,
  partsDir: string,
  loader: DataLoader,
  done: Set<number>,
  modalities: IndexModality[],
): Promise<number> {
  const be = model.be, n = loader.size, C = s.chunkSize, nChunks = Math.ceil(n / C);
  let first = 0;
  while (first < nChunks && done.has(first)) first++;
  if (first === nChunks) return 0;
  const dim = (model.config.image ?? model.config.dna)!.outputDim;
  let cur = first, written = 0, progress = done.size * C;
  let acc: { ids: string[]; labels: Taxonomy[]; emb: Record<string, Float32Array[]> } = fresh();
  function fresh() {
    return {
      ids: [] as string[],
      labels: [] as Taxonomy[],
      emb: Object.fromEntries(modalities.map((m) => [m, []])),
    };
  }
  const flush = async () => {
    if (!done.has(cur)) {
      const emb: Part["emb"] = {};
      for (const m of modalities) {
        const rows = acc.emb[m], out = new Float32Array(rows.length * dim);
        rows.forEach((r, i) => out.set(r, i * dim));
        emb[m] = out;
      }
      await writePart(join(partsDir, partName(cur)), { ids: acc.ids, labels: acc.labels, emb }, dim);
      done.add(cur);
      written++;
    }
    acc = fresh();
    cur++;
  };
  const want = { image: modalities.includes("image"), dna: modalities.includes("dna"), text: false };
  for await (const batch of loader.epoch(0, first * C)) {
    const out = be.tidy(() => {
      const inp = batchToDevice(be, batch, want);
      return {
        image: inp.images ? model.embedImages(inp.images) : null,
        dna: inp.dna ? model.embedDna(inp.dna) : null,
      };
    });
    const host: Partial<Record<IndexModality, Float32Array>> = {};
    for (const m of modalities) {
      host[m] = Float32Array.from(await be.read(out[m]!));
      be.release(out[m]!);
    }
    for (let i = 0; i < batch.size; i++) {
      const c = Math.floor(batch.indices[i] / C);
      while (c > cur) {
        await flush();
        if (o.maxChunks !== undefined && written >= o.maxChunks) return written;
      }
      if (done.has(c)) continue;
      acc.ids.push(batch.ids[i]);
      const t = {} as Taxonomy;
      for (const l of LEVELS) t[l] = batch.labels[l][i];
      acc.labels.push(t);
      for (const m of modalities) acc.emb[m].push(host[m]!.slice(i * dim, (i + 1) * dim));
    }
    progress += batch.size;
    o.onProgress?.(Math.min(progress, n), n);
  }
  while (cur < nChunks) {
    await flush();
    if (o.maxChunks !== undefined && written >= o.maxChunks && cur < nChunks) return written;
  }
  return written;
}

/**
 * Builds (or resumes building) a key index. Returns `complete: false` only when `maxChunks` stopped it.
 * @throws Error when `out` holds an index or a partial build made with other settings
 */
export async function buildIndex(o: BuildIndexOptions): Promise<BuildResult> {
  const chunkSize = o.chunkSize ?? 512, dtype = o.dtype ?? "f32";
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`chunk size must be a positive integer`);
  if (dtype !== "f32" && dtype !== "f16") throw new Error(`dtype must be f32 or f16, got ${dtype}`);
  const ident = await fileIdentity(o.checkpoint);
  const spec = o.spec ?? await resolveModelSpec(o.checkpoint, o.config);
  const settings: BuildSettings = {
    checkpointSha256: ident.sha256,
    data: resolve(o.data),
    split: o.split,
    chunkSize,
    spec,
  };
  const log = o.log ?? (() => {});
  const manifestPath = join(o.out, "manifest.json"), buildPath = join(o.out, "build.json");
  if (await exists(manifestPath)) {
    const m: IndexManifest = JSON.parse(await Deno.readTextFile(manifestPath));
    if (m.checkpoint.sha256 === ident.sha256 && m.data.path === settings.data && m.data.split === o.split) {
      log(`${o.out}: index already complete (${m.count} keys)`);
      return { complete: true, resumedChunks: 0, newChunks: 0, totalChunks: 0, manifest: m };
    }
    throw new Error(`${o.out}: already holds an index built from other inputs; choose another --out`);
  }
  if (await exists(buildPath)) {
    const prev: BuildSettings = JSON.parse(await Deno.readTextFile(buildPath));
    const diff = sameSettings(prev, settings);
    if (diff) {
      throw new Error(
        `${o.out}: holds a partial build with a different ${diff}; delete the folder or choose another --out`,
      );
    }
  } else await writeFileAtomic(buildPath, JSON.stringify(settings, null, 2) + "\n");
  const partsDir = join(o.out, "parts");
  await Deno.mkdir(partsDir, { recursive: true });
  const done = new Set<number>();
  for await (const e of Deno.readDir(partsDir)) {
    const m = e.name.match(/^part-(\d{6})\.safetensors$/);
    if (e.isFile && m) done.add(Number(m[1]));
  }
  const resumed = done.size;
  const model = await loadClibdModel(o.be, spec.config, { checkpoint: o.checkpoint });
  let loader: DataLoader | null = null;
  try {
    model.mergeLora();
    const p = spec.preprocess;
    loader = await DataLoader.create({
      file: o.data,
      split: o.split,
      batchSize: o.batchSize ?? 64,
      shuffle: "none",
      mode: "eval",
      resize: p.imageResize,
      crop: p.imageCrop,
      images: !!model.image,
      dna: { k: p.dnaK, maxLen: p.dnaMaxLen },
      workers: o.workers,
    });
    const modalities: IndexModality[] = [];
    if (model.image && loader.reader.hasImages) modalities.push("image");
    if (model.dna) modalities.push("dna");
    if (modalities.length === 0) throw new Error("the model has neither an image nor a DNA tower to index");
    const total = Math.ceil(loader.size / chunkSize);
    if (resumed) log(`${o.out}: resuming, ${resumed}/${total} parts already built`);
    const written = await embedParts(model, o, settings, partsDir, loader, done, modalities);
    if (done.size < total) {
      return {
        complete: false,
        resumedChunks: resumed,
        newChunks: written,
        totalChunks: total,
        manifest: null,
      };
    }
    const manifest = await finish(o, settings, ident, modalities, total, dtype, log);
    return { complete: true, resumedChunks: resumed, newChunks: written, totalChunks: total, manifest };
  } finally {
    loader?.close();
    model.release();
  }
}

async function finish(
  o: BuildIndexOptions,
  s: BuildSettings,
  ident: Awaited<ReturnType<typeof fileIdentity>>,
  modalities: IndexModality[],
  total: number,
  dtype: IndexDtype,
  log: (l: string) => void,
): Promise<IndexManifest> {
  const partsDir = join(o.out, "parts");
  const ids: string[] = [], labels: Taxonomy[] = [], emb: Record<string, Float32Array[]> = {};
  let dim = 0;
  for (let c = 0; c < total; c++) {
    const p = await readPart(join(partsDir, partName(c)));
    dim = p.dim;
    ids.push(...p.ids);
    labels.push(...p.labels);
    for (const m of modalities) if (p.ids.length) (emb[m] ??= []).push(p.emb[m]!);
  }
  const count = ids.length;
  if (count === 0) throw new Error(`${o.data}: split "${o.split}" produced no usable records`);
  const full: Partial<Record<IndexModality, Float32Array>> = {};
  for (const m of modalities) {
    const out = new Float32Array(count * dim);
    let off = 0;
    for (const x of emb[m]) {
      out.set(x, off);
      off += x.length;
    }
    full[m] = out;
  }
  const files: IndexManifest["files"] = { labels: "labels.json", ids: "ids.json" };
  for (const m of modalities) {
    const name = `${m}.${dtype}.bin`;
    const arr = dtype === "f16" ? Float16Array.from(full[m]!) : full[m]!;
    await writeFileAtomic(join(o.out, name), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    files[m] = name;
  }
  const cols = Object.fromEntries(LEVELS.map((l) => [l, labels.map((t) => t[l])]));
  await writeFileAtomic(join(o.out, "labels.json"), JSON.stringify(cols));
  await writeFileAtomic(join(o.out, "ids.json"), JSON.stringify(ids));
  log(`${o.out}: calibrating open-set thresholds on ${count} keys`);
  const species = labels.map((t) => t.species);
  const pairs: Record<string, PairCalibration> = {};
  const combos: [IndexModality, IndexModality][] = [["image", "image"], ["dna", "dna"], ["image", "dna"]];
  for (const [q, k] of combos) {
    if (!full[q] || !full[k]) continue;
    pairs[pairKey(q, k)] = await calibratePair(
      o.be,
      full[q]!,
      full[k]!,
      dim,
      species,
      { query: q, key: k },
      o.calibration,
    );
  }
  const pct = o.calibration?.percentile ?? 5;
  const manifest: IndexManifest = {
    format: "clibd-key-index",
    version: 1,
    created: new Date().toISOString(),
    model: { config: s.spec.config, configSource: s.spec.source, preprocess: s.spec.preprocess },
    checkpoint: { ...ident, path: resolve(ident.path) },
    data: { path: s.data, split: s.split },
    count,
    dim,
    dtype,
    modalities,
    files,
    calibration: { rule: THRESHOLD_RULE.replace("P-th", `${pct}th`), pairs },
  };
  await writeFileAtomic(join(o.out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  await Deno.remove(partsDir, { recursive: true });
  await Deno.remove(join(o.out, "build.json"));
  return manifest;
}
