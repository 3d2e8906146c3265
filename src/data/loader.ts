/**
 * Training/evaluation data loader: reads records of one split, tokenizes DNA and text on the
 * main thread (cheap), decodes and transforms JPEGs in a pool of module workers, and yields
 * batches of typed arrays ready to upload.
 *
 * Determinism: the epoch order is a seeded permutation; records are processed in that order
 * in chunks, and a batch is "the next B records that pass the bad-record policy". Decoding runs
 * ahead by `prefetch` chunks in parallel, but results are consumed strictly in order, so the
 * batches (and each image's augmentation seed, derived from seed/epoch/position) do not depend
 * on timing. `position` in a batch is the order position after its last record: resuming from
 * `{epoch, position}` reproduces the rest of the epoch exactly.
 * @module
 */
import { Rng } from "../util/rng.ts";
import type { Hdf5File } from "./hdf5.ts";
import { dnaTokenCount, type DnaTokenizerOptions, tokenizeDnaInto } from "./dna.ts";
import { TextTokenizer, type TextTokens } from "./text.ts";
import { type Level, LEVELS, taxonomyString } from "./taxonomy.ts";
import { type RecordMeta, type RecordPolicy, SplitReader } from "./records.ts";
import type { DecodeJob, DecodeRequest, DecodeResponse } from "./decode_worker.ts";
import { decodeAndTransform } from "./image/transforms.ts";

/** Epoch order: a new permutation per epoch, CLIBD's same permutation every epoch, or file order. */
export type ShuffleMode = "per_epoch" | "fixed" | "none";

/** Where to (re)start: epoch number and position in that epoch's order. */
export interface LoaderState {
  epoch: number;
  position: number;
}

/** Loader options. */
export interface LoaderOptions {
  /** HDF5 path or an open file. */
  file: string | Hdf5File;
  split: string;
  batchSize: number;
  /** Default "per_epoch" (CLIBD's own runs behave as "fixed", spec 10.9). */
  shuffle?: ShuffleMode;
  seed?: number;
  /** Drop a final partial batch (training). Default false. */
  dropLast?: boolean;
  /** Image transform: "train" (random augmentation) or "eval" (default). */
  mode?: "train" | "eval";
  /** Shorter side after resize (default 256) and square crop (default 224). */
  resize?: number;
  crop?: number;
  /** Decode images (default true when the split has images). */
  images?: boolean;
  /** Decode workers; 0 decodes on the main thread. Default: min(4, cores - 1). */
  workers?: number;
  /** Chunks of `batchSize` records decoded ahead (default 2). */
  prefetch?: number;
  dna?: DnaTokenizerOptions;
  /** Text tokenizer (default: bert-base-uncased vocab, 20 tokens). */
  text?: TextTokenizer;
  policy?: RecordPolicy;
  /** Use only the first `limit` records of the split. */
  limit?: number;
}

/** One batch, row-major typed arrays. */
export interface Batch {
  epoch: number;
  /** Order position after this batch (pass as `position` to resume). */
  position: number;
  size: number;
  /** Record row indices within the split. */
  indices: Int32Array;
  ids: string[];
  /** Taxonomy strings per level (`not_classified` for missing). */
  labels: Record<Level, string[]>;
  /** [B, 3, crop, crop] in [0, 1], or null without images. */
  images: Float32Array | null;
  /** [B, T] DNA token ids. */
  dna: Int32Array;
  /** [B, 20] each. */
  text: TextTokens;
}

interface Ready {
  pos: number;
  meta: RecordMeta;
  pixels: Float32Array | null;
}

/** Mixes integers into a 32-bit seed (splitmix-style), for per-epoch and per-sample seeds. */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Record order of an epoch for a split of `n` records. */
export function epochOrder(n: number, shuffle: ShuffleMode, seed: number, epoch: number): Uint32Array {
  if (shuffle === "none") return Uint32Array.from({ length: n }, (_, i) => i);
  return new Rng(shuffle === "fixed" ? mixSeed(seed) : mixSeed(seed, epoch + 1)).permutation(n);
}

/** Pool of decode workers; each request is answered by whichever worker got it. */
class DecodePool {
  #workers: Worker[] = [];
  #next = 0;
  #id = 0;
  #pending = new Map<number, (r: DecodeResponse) => void>();

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
      w.onmessage = (ev: MessageEvent<DecodeResponse>) => {
        const cb = this.#pending.get(ev.data.id);
        this.#pending.delete(ev.data.id);
        cb?.(ev.data);
      };
      w.onerror = (ev) => {
        ev.preventDefault();
        const err = `decode worker crashed: ${ev.message}`;
        for (const [id, cb] of this.#pending) cb({ id, results: [{ ok: false, error: err }] });
        this.#pending.clear();
      };
      this.#workers.push(w);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  decode(req: Omit<DecodeRequest, "id">): Promise<DecodeResponse> {
    const id = ++this.#id;
    const w = this.#workers[this.#next++ % this.#workers.length];
    return new Promise((resolve) => {
      this.#pending.set(id, (r) => {
        // A crash answers with a single error; spread it over every job of the request.
        if (r.results.length !== req.jobs.length) r.results = req.jobs.map(() => r.results[0]);
        resolve(r);
      });
      w.postMessage({ ...req, id } satisfies DecodeRequest);
    });
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

/** Batches of one split; see the module comment for ordering and resume semantics. */
export class DataLoader {
  readonly reader: SplitReader;
  readonly size: number;
  readonly batchSize: number;
  readonly dnaTokens: number;
  readonly textLength: number;
  readonly imageSize: number;
  readonly #o: Required<Omit<LoaderOptions, "file" | "limit" | "text" | "policy" | "images" | "workers">>;
  readonly #text: TextTokenizer;
  readonly #pool: DecodePool | null;
  readonly #images: boolean;

  private constructor(reader: SplitReader, opts: LoaderOptions, text: TextTokenizer) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new Error(`loader: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    this.reader = reader;
    this.size = Math.min(reader.size, opts.limit ?? Infinity);
    this.batchSize = opts.batchSize;
    this.#o = {
      split: opts.split,
      batchSize: opts.batchSize,
      shuffle: opts.shuffle ?? "per_epoch",
      seed: opts.seed ?? 0,
      dropLast: opts.dropLast ?? false,
      mode: opts.mode ?? "eval",
      resize: opts.resize ?? 256,
      crop: opts.crop ?? 224,
      prefetch: Math.max(1, opts.prefetch ?? 2),
      dna: opts.dna ?? {},
    };
    this.#text = text;
    this.#images = reader.hasImages;
    this.dnaTokens = dnaTokenCount(this.#o.dna);
    this.textLength = text.maxLength;
    this.imageSize = this.#o.crop;
    const cores = navigator.hardwareConcurrency ?? 2;
    const nw = opts.workers ?? Math.min(4, Math.max(1, cores - 1));
    this.#pool = this.#images && nw > 0 ? new DecodePool(nw) : null;
  }

  /** Opens the split and starts the decode workers. */
  static async create(opts: LoaderOptions): Promise<DataLoader> {
    const reader = await SplitReader.open(opts.file, opts.split, {
      images: opts.images,
      policy: opts.policy,
    });
    try {
      const text = opts.text ?? await TextTokenizer.fromVocabFile();
      return new DataLoader(reader, opts, text);
    } catch (e) {
      reader.close();
      throw e;
    }
  }

  /** Full batches per epoch when no record is skipped. */
  get batchesPerEpoch(): number {
    return this.#o.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  /** The record order of an epoch (row indices). */
  order(epoch: number): Uint32Array {
    return epochOrder(this.size, this.#o.shuffle, this.#o.seed, epoch);
  }

  async #chunk(epoch: number, order: Uint32Array, start: number, end: number): Promise<Ready[]> {
    const positions = Array.from({ length: end - start }, (_, i) => start + i);
    const metas = this.reader.read(positions.map((p) => order[p]));
    const live: Ready[] = [];
    metas.forEach((m, i) => {
      if (m) live.push({ pos: positions[i], meta: m, pixels: null });
    });
    if (!this.#images) return live;
    const jobs: DecodeJob[] = live.map((r) => ({
      bytes: r.meta.image!,
      seed: mixSeed(this.#o.seed, epoch, r.pos),
    }));
    const req = { mode: this.#o.mode, resize: this.#o.resize, crop: this.#o.crop };
    let results: DecodeResponse["results"];
    if (this.#pool) {
      const per = Math.ceil(jobs.length / this.#pool.size) || 1;
      const parts: Promise<DecodeResponse>[] = [];
      for (let i = 0; i < jobs.length; i += per) {
        parts.push(this.#pool.decode({ ...req, jobs: jobs.slice(i, i + per) }));
      }
      results = (await Promise.all(parts)).flatMap((r) => r.results);
    } else {
      results = [];
      for (const j of jobs) {
        try {
          results.push({ ok: true, pixels: await decodeAndTransform(j.bytes, { ...req, seed: j.seed }) });
        } catch (e) {
          results.push({ ok: false, error: (e as Error).message.split("\n")[0] });
        }
      }
    }
    const out: Ready[] = [];
    live.forEach((r, i) => {
      const res = results[i];
      if (res.ok) out.push({ ...r, pixels: res.pixels });
      else if (!this.reader.tracker.report("image_decode_failed", r.meta.id, res.error)) {
        throw new Error(`loader: image_decode_failed cannot be "flag": record ${r.meta.id} has no pixels`);
      }
    });
    return out;
  }

  #assemble(epoch: number, recs: Ready[], position: number): Batch {
    const B = recs.length, T = this.dnaTokens, L = this.textLength, C = this.imageSize;
    const dna = new Int32Array(B * T);
    const text: TextTokens = {
      inputIds: new Int32Array(B * L),
      tokenTypeIds: new Int32Array(B * L),
      attentionMask: new Int32Array(B * L),
    };
    const images = this.#images ? new Float32Array(B * 3 * C * C) : null;
    const labels = Object.fromEntries(LEVELS.map((l) => [l, [] as string[]])) as Record<Level, string[]>;
    recs.forEach((r, i) => {
      tokenizeDnaInto(r.meta.barcode, dna, i * T, this.#o.dna);
      this.#text.encodeInto(taxonomyString(r.meta.taxonomy), text, i);
      for (const l of LEVELS) labels[l].push(r.meta.taxonomy[l]);
      if (images) images.set(r.pixels!, i * 3 * C * C);
    });
    return {
      epoch,
      position,
      size: B,
      indices: Int32Array.from(recs, (r) => r.meta.index),
      ids: recs.map((r) => r.meta.id),
      labels,
      images,
      dna,
      text,
    };
  }

  /**
   * Yields the batches of one epoch, starting at `position` of its order (default 0).
   * Chunks are decoded `prefetch` ahead while the caller works on the current batch.
   */
  async *epoch(epoch: number, position = 0): AsyncGenerator<Batch> {
    const order = this.order(epoch), n = this.size, B = this.batchSize;
    if (position < 0 || position > n) {
      throw new Error(`loader: resume position ${position} outside [0, ${n}]`);
    }
    const queue: Promise<Ready[]>[] = [];
    let next = position;
    const fill = () => {
      while (queue.length < this.#o.prefetch && next < n) {
        const end = Math.min(n, next + B);
        const p = this.#chunk(epoch, order, next, end);
        p.catch(() => {}); // surfaced when awaited below
        queue.push(p);
        next = end;
      }
    };
    let buf: Ready[] = [];
    fill();
    while (queue.length) {
      const chunk = await queue.shift()!;
      fill();
      buf = buf.concat(chunk);
      while (buf.length >= B) {
        const take = buf.slice(0, B);
        buf = buf.slice(B);
        // Resume point: the first record not used (skipped records between are skipped again).
        const pos = buf.length ? buf[0].pos : take[B - 1].pos + 1;
        yield this.#assemble(epoch, take, pos);
      }
    }
    if (buf.length && !this.#o.dropLast) yield this.#assemble(epoch, buf, n);
  }

  /** Stops the workers, prints the bad-record summary and closes the file (if opened here). */
  close(): void {
    this.#pool?.close();
    this.reader.tracker.warnSummary();
    this.reader.close();
  }
}
