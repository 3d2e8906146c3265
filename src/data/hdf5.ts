/**
 * HDF5 access over npm:h5wasm (the HDF5 C library compiled to WebAssembly).
 *
 * File access: h5wasm's Node build mounts the host file system with Emscripten's NODERAWFS,
 * so HDF5 reads the real file with positioned reads on demand. Opening a 80-190 GB CLIBD
 * file reads only its metadata, and every read here is an explicit hyperslab (row range, or
 * one row's leading bytes for JPEGs), so memory stays proportional to a batch. Nothing reads
 * a whole dataset unless the caller asks for all its rows.
 *
 * Errors: h5wasm's throwing error handler is switched on and its multi-line HDF5 error
 * stacks are condensed into one line that names the file and what was being done.
 * @module
 */
import h5wasm from "h5wasm/node";
import { dirname } from "node:path";

/** Data of one dataset as returned by reads: typed arrays for numbers, strings for text. */
export type DatasetData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array
  | string[];

/** Element types the writer can create. */
export type WriteDtype = "u8" | "i32" | "i64" | "f32" | "f64" | "string";

// h5wasm follows Python struct codes for numeric dtypes.
const H5_DTYPE: Record<Exclude<WriteDtype, "string">, string> = {
  u8: "<B",
  i32: "<i",
  i64: "<q",
  f32: "<f",
  f64: "<d",
};

// deno-lint-ignore no-explicit-any
type H5Any = any;

let ready: Promise<void> | null = null;

/** Initialises h5wasm once and switches HDF5 errors from stderr dumps to exceptions. */
export function h5Ready(): Promise<void> {
  ready ??= (async () => {
    const mod = await h5wasm.ready;
    mod.activate_throwing_error_handler();
  })();
  return ready;
}

/** Turns an HDF5 error stack into its most specific line (the deepest `#NNN:` frame's message). */
function condense(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const frames = [...msg.matchAll(/#\d+:.*? in [\w]+\(\): (.*)/g)].map((m) => m[1].trim());
  if (frames.length) return frames[frames.length - 1];
  return msg.split("\n")[0];
}

/** HDF5 signature; the superblock sits at 0, 512, 1024, ... (HDF5 spec, "Format Signature"). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function checkSignature(path: string): void {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`HDF5 file not found: ${path}`);
    throw new Error(`cannot open HDF5 file ${path}: ${(e as Error).message}`);
  }
  try {
    const size = f.statSync().size;
    const buf = new Uint8Array(8);
    for (let off = 0; off + 8 <= size && off <= 1 << 20; off = off === 0 ? 512 : off * 2) {
      f.seekSync(off, Deno.SeekMode.Start);
      if (f.readSync(buf) === 8 && SIGNATURE.every((b, i) => buf[i] === b)) return;
    }
    throw new Error(`not an HDF5 file (no HDF5 signature): ${path} (${size} bytes)`);
  } finally {
    f.close();
  }
}

/** Read-only view of an HDF5 file; every read is a slice along the first axis. */
export class Hdf5File {
  readonly path: string;
  readonly #f: H5Any;
  #shapes = new Map<string, number[]>();

  private constructor(path: string, f: H5Any) {
    this.path = path;
    this.#f = f;
  }

  /** Opens a file read-only; one-line errors for missing, non-HDF5 and truncated files. */
  static async open(path: string): Promise<Hdf5File> {
    await h5Ready();
    checkSignature(path);
    try {
      return new Hdf5File(path, new h5wasm.File(path, "r"));
    } catch (e) {
      throw new Error(`cannot open HDF5 file ${path}: ${condense(e)}`);
    }
  }

  #guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new Error(`${this.path}: ${what}: ${condense(e)}`);
    }
  }

  /** Names of the top-level groups (CLIBD splits). */
  groups(): string[] {
    return this.#guard(
      "listing groups",
      () => (this.#f.keys() as string[]).filter((k) => this.#f.get(k) instanceof h5wasm.Group),
    );
  }

  /** True when `path` names a group or dataset. */
  has(path: string): boolean {
    const parts = path.split("/").filter(Boolean);
    let cur = this.#f;
    for (const p of parts) {
      if (!(cur instanceof h5wasm.Group) || !(cur.keys() as string[]).includes(p)) return false;
      cur = cur.get(p);
    }
    return true;
  }

  /** Member names of a group ("" or "/" for the root). */
  keys(group: string): string[] {
    const g = group === "" || group === "/" ? this.#f : this.#get(group, "group");
    return this.#guard(`listing ${group}`, () => g.keys() as string[]);
  }

  #get(path: string, kind: "group" | "dataset"): H5Any {
    const parts = path.split("/").filter(Boolean);
    let cur = this.#f, at = "/";
    for (const p of parts) {
      const names: string[] = cur instanceof h5wasm.Group ? cur.keys() : [];
      if (!names.includes(p)) {
        const have = names.length ? names.join(", ") : "(nothing)";
        throw new Error(`${this.path}: no ${kind} "${path}" (group "${at}" has: ${have})`);
      }
      cur = this.#guard(`opening ${path}`, () => cur.get(p));
      at = at === "/" ? `/${p}` : `${at}/${p}`;
    }
    const ok = kind === "group" ? cur instanceof h5wasm.Group : cur instanceof h5wasm.Dataset;
    if (!ok) throw new Error(`${this.path}: "${path}" is not a ${kind}`);
    return cur;
  }

  /** Shape of a dataset (cached). */
  shape(path: string): number[] {
    let s = this.#shapes.get(path);
    if (!s) {
      const d = this.#get(path, "dataset");
      s = this.#guard(`reading shape of ${path}`, () => (d.shape ?? []) as number[]);
      this.#shapes.set(path, s);
    }
    return s;
  }

  /** Number of rows (first dimension) of a dataset. */
  rows(path: string): number {
    return this.shape(path)[0] ?? 1;
  }

  /** h5wasm dtype string of a dataset (e.g. "<B", "<q", "S24" or "S" for variable-length text). */
  dtype(path: string): string {
    const d = this.#get(path, "dataset");
    return this.#guard(`reading dtype of ${path}`, () => String(d.dtype));
  }

  #checkRange(path: string, start: number, end: number): void {
    const n = this.rows(path);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw new Error(`${this.path}: rows [${start}, ${end}) out of range for ${path} with ${n} rows`);
    }
  }

  /**
   * Rows [start, end) of a dataset, all trailing dimensions included (row-major).
   * Strings come back as JS strings (fixed-length and variable-length alike); bytes that are
   * not valid UTF-8 come back as U+FFFD, which the record validator reports.
   */
  readRows(path: string, start: number, end: number): DatasetData {
    this.#checkRange(path, start, end);
    const d = this.#get(path, "dataset");
    if (start === end) return emptyLike(this.dtype(path));
    const out = this.#guard(`reading rows [${start}, ${end}) of ${path}`, () => d.slice([[start, end]]));
    return typeof out === "string" ? [out] : out as DatasetData;
  }

  /** Rows [start, end) of a text dataset as strings. */
  readStrings(path: string, start: number, end: number): string[] {
    const v = this.readRows(path, start, end);
    if (!Array.isArray(v)) throw new Error(`${this.path}: ${path} is ${this.dtype(path)}, expected text`);
    return v.map((s) => String(s));
  }

  /** Rows [start, end) of an integer or float dataset as JS numbers (int64 converted exactly below 2^53). */
  readNumbers(path: string, start: number, end: number): Float64Array {
    const v = this.readRows(path, start, end);
    if (Array.isArray(v)) throw new Error(`${this.path}: ${path} holds text, expected numbers`);
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(v[i]);
    return out;
  }

  /**
   * The first `width` columns of row `row` of a 2-D dataset: reads one JPEG's bytes
   * (`image[row, :image_mask[row]]`) without touching the zero padding.
   */
  readRowPrefix(path: string, row: number, width: number): Uint8Array {
    const [n, cols] = this.shape(path);
    if (cols === undefined) throw new Error(`${this.path}: ${path} is not 2-D`);
    if (row < 0 || row >= n) {
      throw new Error(`${this.path}: row ${row} out of range for ${path} with ${n} rows`);
    }
    if (width < 0 || width > cols) {
      throw new Error(`${this.path}: ${path} row ${row}: length ${width} exceeds the row width ${cols}`);
    }
    if (width === 0) return new Uint8Array(0);
    const d = this.#get(path, "dataset");
    const v = this.#guard(`reading ${path}[${row}, :${width}]`, () => d.slice([[row, row + 1], [0, width]]));
    if (!(v instanceof Uint8Array)) {
      throw new Error(`${this.path}: ${path} is ${this.dtype(path)}, expected uint8`);
    }
    return v;
  }

  /** Closes the file (further reads fail). */
  close(): void {
    this.#guard("closing", () => this.#f.close());
  }
}

function emptyLike(dtype: string): DatasetData {
  if (dtype.startsWith("S") || dtype.startsWith("U")) return [];
  const m: Record<string, () => DatasetData> = {
    "<B": () => new Uint8Array(0),
    "<b": () => new Int8Array(0),
    "<i": () => new Int32Array(0),
    "<I": () => new Uint32Array(0),
    "<q": () => new BigInt64Array(0),
    "<f": () => new Float32Array(0),
    "<d": () => new Float64Array(0),
  };
  return (m[dtype] ?? (() => new Float64Array(0)))();
}

/** Options for a dataset created empty and filled by {@link Hdf5Writer.writeRows}. */
export interface CreateOptions {
  dtype: Exclude<WriteDtype, "string">;
  /** Full shape; the first dimension is the number of rows. */
  shape: number[];
  /** Chunk shape; default: up to 64 rows (bounded to ~1 MB) with full trailing dims. */
  chunks?: number[];
  /** gzip level 1-9 (default none: JPEG bytes do not compress). */
  gzip?: number;
}

/**
 * Writes a new HDF5 file. Data goes to `<path>.tmp-<pid>` and is renamed over `path` by
 * {@link Hdf5Writer.close}, so readers never see a half-written file.
 */
export class Hdf5Writer {
  readonly path: string;
  readonly #tmp: string;
  readonly #f: H5Any;
  #closed = false;

  private constructor(path: string, tmp: string, f: H5Any) {
    this.path = path;
    this.#tmp = tmp;
    this.#f = f;
  }

  /** Creates (truncates) a file for writing. */
  static async create(path: string): Promise<Hdf5Writer> {
    await h5Ready();
    await Deno.mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      return new Hdf5Writer(path, tmp, new h5wasm.File(tmp, "w"));
    } catch (e) {
      throw new Error(`cannot create HDF5 file ${path}: ${condense(e)}`);
    }
  }

  #guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new Error(`${this.path}: ${what}: ${condense(e)}`);
    }
  }

  #parent(path: string): { g: H5Any; name: string } {
    const parts = path.split("/").filter(Boolean);
    if (!parts.length) throw new Error(`${this.path}: empty dataset path`);
    let g = this.#f;
    for (const p of parts.slice(0, -1)) {
      g = (g.keys() as string[]).includes(p)
        ? g.get(p)
        : this.#guard(`creating group ${p}`, () => g.create_group(p));
    }
    return { g, name: parts[parts.length - 1] };
  }

  /** Creates a group (and its parents) if it does not exist. */
  createGroup(path: string): void {
    this.#parent(`${path}/_`);
  }

  /**
   * Writes a whole dataset. Numbers: a typed array plus `shape` (default 1-D) and `dtype`
   * (default from the array type). Text: `string[]`, stored as variable-length UTF-8 strings.
   */
  writeDataset(path: string, data: DatasetData, shape?: number[], dtype?: WriteDtype): void {
    const { g, name } = this.#parent(path);
    if (Array.isArray(data)) {
      if (data.length === 0) {
        // h5wasm cannot create a text dataset from an empty list: create one row, then shrink to 0.
        this.#guard(`writing ${path}`, () => {
          g.create_dataset({ name, data: [""], shape: [1], maxshape: [null], chunks: [64] });
          g.get(name).resize([0]);
        });
        return;
      }
      this.#guard(`writing ${path}`, () => g.create_dataset({ name, data, shape: shape ?? [data.length] }));
      return;
    }
    const dt = dtype ?? dtypeOf(data);
    if (dt === "string") throw new Error(`${this.path}: ${path}: numeric data cannot be written as text`);
    const sh = shape ?? [data.length];
    if (sh.reduce((a, b) => a * b, 1) !== data.length) {
      throw new Error(`${this.path}: ${path}: shape [${sh}] does not match ${data.length} values`);
    }
    this.#guard(`writing ${path}`, () => g.create_dataset({ name, data, shape: sh, dtype: H5_DTYPE[dt] }));
  }

  /** Creates an empty (zero-filled) chunked dataset to be filled by row ranges. */
  createDataset(path: string, opts: CreateOptions): void {
    const { g, name } = this.#parent(path);
    const rowElems = opts.shape.slice(1).reduce((a, b) => a * b, 1);
    const rows = Math.max(1, Math.min(64, Math.floor((1 << 20) / Math.max(1, rowElems)), opts.shape[0] || 1));
    const chunks = opts.chunks ?? [rows, ...opts.shape.slice(1)];
    this.#guard(`creating ${path}`, () =>
      g.create_dataset({
        name,
        data: emptyTyped(opts.dtype),
        shape: [0, ...opts.shape.slice(1)],
        maxshape: [null, ...opts.shape.slice(1)],
        chunks,
        dtype: H5_DTYPE[opts.dtype],
        ...(opts.gzip ? { compression: "gzip", compression_opts: opts.gzip } : {}),
      }));
    if (opts.shape[0] > 0) this.#guard(`sizing ${path}`, () => this.#f.get(path).resize(opts.shape));
  }

  /** Writes rows starting at `start` into a dataset made by {@link createDataset}. */
  writeRows(path: string, start: number, data: Exclude<DatasetData, string[]>): void {
    const d = this.#f.get(path);
    if (!d) throw new Error(`${this.path}: writeRows: no dataset ${path}`);
    const shape = d.shape as number[];
    const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
    const n = data.length / rowElems;
    if (!Number.isInteger(n) || start < 0 || start + n > shape[0]) {
      throw new Error(
        `${this.path}: writeRows ${path}: ${data.length} values at row ${start} do not fit [${shape}]`,
      );
    }
    if (n === 0) return;
    const ranges = [[start, start + n], ...shape.slice(1).map(() => [] as number[])];
    this.#guard(`writing rows of ${path}`, () => d.write_slice(ranges, data));
  }

  /** Sets a string or number attribute on a group or dataset ("/" for the file). */
  setAttribute(path: string, name: string, value: string | number): void {
    const obj = path === "/" || path === "" ? this.#f : this.#f.get(path);
    if (!obj) throw new Error(`${this.path}: setAttribute: no object ${path}`);
    this.#guard(`setting attribute ${name} on ${path}`, () => obj.create_attribute(name, value));
  }

  /** Flushes, closes and atomically renames the file into place. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#guard("closing", () => this.#f.close());
    Deno.renameSync(this.#tmp, this.path);
  }

  /** Closes and deletes the temporary file (after an error). */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#f.close();
    } catch { /* already broken */ }
    try {
      Deno.removeSync(this.#tmp);
    } catch { /* nothing to remove */ }
  }
}

function emptyTyped(dt: Exclude<WriteDtype, "string">): DatasetData {
  return ({
    u8: () => new Uint8Array(0),
    i32: () => new Int32Array(0),
    i64: () => new BigInt64Array(0),
    f32: () => new Float32Array(0),
    f64: () => new Float64Array(0),
  })[dt]();
}

function dtypeOf(data: Exclude<DatasetData, string[]>): WriteDtype {
  if (data instanceof Uint8Array) return "u8";
  if (data instanceof Int32Array) return "i32";
  if (data instanceof BigInt64Array) return "i64";
  if (data instanceof Float32Array) return "f32";
  if (data instanceof Float64Array) return "f64";
  throw new Error(`unsupported array type ${data.constructor.name}; convert to Int32Array/Float32Array/...`);
}

/** One dataset for {@link writeDatasets}: a typed array with its shape, or a list of strings. */
export interface DatasetSpec {
  data: DatasetData;
  shape?: number[];
  dtype?: WriteDtype;
}

/**
 * Writes a new file holding the given datasets (paths may contain groups, e.g.
 * `key/encoded_image_feature`). Used for CLIBD's embedding layouts (spec 9.4): flat f32/f64
 * feature matrices plus UTF-8 label/id lists. Atomic: the file appears complete or not at all.
 */
export async function writeDatasets(
  path: string,
  datasets: Record<string, DatasetSpec | string[]>,
  attributes: Record<string, string | number> = {},
): Promise<void> {
  const w = await Hdf5Writer.create(path);
  try {
    for (const [name, spec] of Object.entries(datasets)) {
      if (Array.isArray(spec)) w.writeDataset(name, spec);
      else w.writeDataset(name, spec.data, spec.shape, spec.dtype);
    }
    for (const [k, v] of Object.entries(attributes)) w.setAttribute("/", k, v);
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
}
