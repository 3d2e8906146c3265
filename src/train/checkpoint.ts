/**
 * Training checkpoints: one safetensors file holding the model tensors (canonical names), the AdamW moments
 * (`optim.m.<name>`, `optim.v.<name>`) and, in `__metadata__`, everything else needed to resume exactly:
 * config, step, epoch, loader position, RNG states, scheduler state, best score and timestamps.
 *
 * The file is streamed to a temporary file in the same folder, synced, then renamed over the target, so the
 * previous checkpoint stays intact until the new one is complete. Tensors are written straight from their
 * Float32Arrays (no whole-file buffer), so full-size checkpoints (~2.5 GB with moments) are fine.
 *
 * Also: run folders `<output_dir>/<name>-<YYYYMMDD-HHMMSS>/` holding `last.safetensors`, `best.safetensors`,
 * `metrics.jsonl`, `config.yaml` and `curves.svg` (UTC timestamps, so names sort chronologically).
 * @module
 */
import { basename, dirname, join } from "node:path";
import { UserError } from "../util/errors.ts";
import { encodeSafetensorsHeader, SafetensorsReader } from "../io/safetensors.ts";

/** `__metadata__.format` of a training checkpoint. */
export const TRAINING_CHECKPOINT_FORMAT = "clibd-training-checkpoint";
/** Current `__metadata__.format_version`; loading another version is an error. */
export const TRAINING_CHECKPOINT_VERSION = 1;

const M_PREFIX = "optim.m.";
const V_PREFIX = "optim.v.";

/** A float32 tensor on the host. */
export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/** AdamW first and second moments, keyed by parameter name (trainable parameters only). */
export interface OptimizerMoments {
  m: Map<string, F32Tensor>;
  v: Map<string, F32Tensor>;
}

/** Scheduler state: the LR schedule is a pure function of its step (src/train/schedule.ts). */
export interface SchedulerState {
  kind: string;
  /** Scheduler steps taken. */
  step: number;
  /** Steps of the whole run (OneCycle / cosine), or null. */
  totalSteps: number | null;
}

/** Everything besides tensors that a resumed run needs. JSON-serialisable. */
export interface TrainingState {
  /** The resolved run config (JSON form). */
  config: unknown;
  /** Optimiser steps taken (AdamW bias correction uses step + 1 next). */
  step: number;
  /** Current epoch (0-based). */
  epoch: number;
  /** Loader position to resume from (src/data/loader.ts LoaderState). */
  loader: { epoch: number; position: number };
  /** RNG states by purpose (e.g. `init`, `augment`), each a u32 (src/util/rng.ts). */
  rng: Record<string, number>;
  scheduler: SchedulerState;
  /** Best validation score so far (null before the first validation; non-finite values are stored as null). */
  bestScore: number | null;
  /** Step of the best score, or null. */
  bestStep: number | null;
  /** ISO time the run started. */
  startedAt: string;
  /** Free-form extras (e.g. logit scale history); must be JSON-serialisable. */
  extra?: Record<string, unknown>;
}

/** What {@link saveTrainingCheckpoint} writes. */
export interface TrainingCheckpoint {
  /** Model parameters by canonical name (names must not start with `optim.`). */
  tensors: Map<string, F32Tensor>;
  /** Optimiser moments; every name must be a model tensor of the same shape. */
  moments: OptimizerMoments;
  state: TrainingState;
}

/** A loaded checkpoint. */
export interface LoadedTrainingCheckpoint extends TrainingCheckpoint {
  formatVersion: number;
  /** ISO time the file was written. */
  savedAt: string;
}

/** Options of {@link saveTrainingCheckpoint}. */
export interface SaveOptions {
  /**
   * Called after the temporary file is complete and synced, just before it replaces `path`. Throwing
   * aborts the save: the temporary file is removed and `path` is untouched (tests use it to simulate a crash).
   */
  beforeCommit?: (tmpPath: string) => void | Promise<void>;
}

function checkTensor(name: string, t: F32Tensor, what: string): void {
  if (!(t.data instanceof Float32Array)) throw new Error(`${what} "${name}": data must be a Float32Array`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${what} "${name}": bad shape ${JSON.stringify(t.shape)}`);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) {
    throw new Error(`${what} "${name}": shape [${t.shape}] needs ${n} values, has ${t.data.length}`);
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkMoments(tensors: Map<string, F32Tensor>, moments: OptimizerMoments, where: string): void {
  for (const [kind, map, other] of [["m", moments.m, moments.v], ["v", moments.v, moments.m]] as const) {
    for (const [name, t] of map) {
      const p = tensors.get(name);
      if (!p) {
        throw new Error(`${where}: optimiser moment ${kind} "${name}" has no model tensor of that name`);
      }
      if (!sameShape(p.shape, t.shape)) {
        throw new Error(
          `${where}: optimiser moment ${kind} "${name}" has shape [${t.shape}], tensor has [${p.shape}]`,
        );
      }
      if (!other.has(name)) {
        throw new Error(`${where}: "${name}" has an ${kind} moment but no ${kind === "m" ? "v" : "m"}`);
      }
    }
  }
}

/** JSON with non-finite numbers turned into null (JSON has no NaN / Infinity). */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x));
}

/**
 * Writes a training checkpoint atomically (temporary file, fsync, rename).
 * @throws Error on inconsistent input (before anything is written) or on I/O failure (target untouched)
 */
export async function saveTrainingCheckpoint(
  path: string,
  ckpt: TrainingCheckpoint,
  opts: SaveOptions = {},
): Promise<void> {
  const entries: [string, F32Tensor][] = [];
  for (const [name, t] of ckpt.tensors) {
    if (name.startsWith("optim.") || name === "__metadata__") {
      throw new Error(`saveTrainingCheckpoint: tensor name "${name}" is reserved`);
    }
    checkTensor(name, t, "tensor");
    entries.push([name, t]);
  }
  checkMoments(ckpt.tensors, ckpt.moments, "saveTrainingCheckpoint");
  for (const [name, t] of ckpt.moments.m) entries.push([M_PREFIX + name, t]);
  for (const [name, t] of ckpt.moments.v) entries.push([V_PREFIX + name, t]);

  const metadata = {
    format: TRAINING_CHECKPOINT_FORMAT,
    format_version: String(TRAINING_CHECKPOINT_VERSION),
    saved_at: new Date().toISOString(),
    state: toJson(ckpt.state),
  };
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [name, t] of entries) {
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  const head = encodeSafetensorsHeader(header);

  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      const writeAll = async (b: Uint8Array) => {
        let o = 0;
        while (o < b.length) o += await f.write(b.subarray(o));
      };
      await writeAll(head);
      for (const [, t] of entries) {
        await writeAll(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      }
      await f.sync();
    } finally {
      f.close();
    }
    await opts.beforeCommit?.(tmp);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Reads a training checkpoint.
 * @throws UserError if the file is missing, is not a training checkpoint, or has another format version
 */
export async function loadTrainingCheckpoint(path: string): Promise<LoadedTrainingCheckpoint> {
  let r: SafetensorsReader;
  try {
    r = await SafetensorsReader.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`training checkpoint not found: ${path}`);
    throw new UserError(`${path} is not a readable safetensors file: ${(e as Error).message}`);
  }
  try {
    const md = r.metadata;
    if (md.format !== TRAINING_CHECKPOINT_FORMAT) {
      throw new UserError(
        `${path} is not a training checkpoint (__metadata__.format is ${
          JSON.stringify(md.format ?? null)
        }, ` +
          `expected "${TRAINING_CHECKPOINT_FORMAT}"); model-only weights load with src/io/checkpoint.ts`,
      );
    }
    const version = Number(md.format_version);
    if (version !== TRAINING_CHECKPOINT_VERSION) {
      throw new UserError(
        `${path}: training checkpoint format version ${md.format_version}, this program reads version ` +
          `${TRAINING_CHECKPOINT_VERSION}`,
      );
    }
    let state: TrainingState;
    try {
      state = JSON.parse(md.state);
    } catch (e) {
      throw new UserError(`${path}: __metadata__.state is not valid JSON (${(e as Error).message})`);
    }
    if (state === null || typeof state !== "object" || typeof state.step !== "number") {
      throw new UserError(`${path}: __metadata__.state has no numeric "step"`);
    }
    const tensors = new Map<string, F32Tensor>();
    const moments: OptimizerMoments = { m: new Map(), v: new Map() };
    for await (const [name, t] of r.tensors()) {
      if (t.dtype !== "f32") throw new UserError(`${path}: tensor "${name}" is ${t.dtype}, expected f32`);
      const ft: F32Tensor = { shape: t.shape, data: t.data as Float32Array };
      if (name.startsWith(M_PREFIX)) moments.m.set(name.slice(M_PREFIX.length), ft);
      else if (name.startsWith(V_PREFIX)) moments.v.set(name.slice(V_PREFIX.length), ft);
      else tensors.set(name, ft);
    }
    try {
      checkMoments(tensors, moments, path);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    return { tensors, moments, state, formatVersion: version, savedAt: md.saved_at ?? "" };
  } finally {
    r.close();
  }
}

// ---- run folders ----

/** `YYYYMMDD-HHMMSS` in UTC. */
export function runTimestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`run name "${name}" may only contain letters, digits, "_", "." and "-"`);
  }
}

/** The files of one run. */
export class RunFolder {
  /** @param dir the run's folder (need not exist yet) */
  constructor(readonly dir: string) {}

  /**
   * Creates `<outputDir>/<name>-<timestamp>/`; if two runs start in the same second, `-2`, `-3`, ... is
   * appended.
   */
  static async create(outputDir: string, name: string, now: Date = new Date()): Promise<RunFolder> {
    checkName(name);
    await Deno.mkdir(outputDir, { recursive: true });
    const base = `${name}-${runTimestamp(now)}`;
    for (let i = 1;; i++) {
      const dir = join(outputDir, i === 1 ? base : `${base}-${i}`);
      try {
        await Deno.mkdir(dir);
        return new RunFolder(dir);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    }
  }

  /** Latest training checkpoint (rewritten every `checkpoint_every` steps). */
  get last(): string {
    return join(this.dir, "last.safetensors");
  }
  /** Checkpoint with the best validation score. */
  get best(): string {
    return join(this.dir, "best.safetensors");
  }
  /** JSONL metrics log. */
  get metrics(): string {
    return join(this.dir, "metrics.jsonl");
  }
  /** The resolved config. */
  get config(): string {
    return join(this.dir, "config.yaml");
  }
  /** Training curves. */
  get curves(): string {
    return join(this.dir, "curves.svg");
  }
}

const RUN_RE = /^(.*)-(\d{8}-\d{6})(?:-(\d+))?$/;

/**
 * The newest run folder whose name is `<basename(prefix)>-<timestamp>[-n]` inside `dirname(prefix)`,
 * e.g. `findLatestRun("runs/demo_tiny")`; null if none.
 * @param withFile only consider runs that contain this file (e.g. `last.safetensors`)
 */
export async function findLatestRun(prefix: string, withFile?: string): Promise<string | null> {
  const dir = dirname(prefix), name = basename(prefix);
  const found: { path: string; ts: string; n: number }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory) continue;
      const m = RUN_RE.exec(e.name);
      if (!m || m[1] !== name) continue;
      found.push({ path: join(dir, e.name), ts: m[2], n: m[3] ? Number(m[3]) : 1 });
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  found.sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : b.n - a.n));
  for (const f of found) {
    if (!withFile) return f.path;
    try {
      await Deno.stat(join(f.path, withFile));
      return f.path;
    } catch {
      // this run has no such file; try an older one
    }
  }
  return null;
}
