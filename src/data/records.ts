/**
 * Records of one split of a CLIBD HDF5 file (spec 5.1) and the bad-record policy.
 *
 * Policy: every problem found in a record is an {@link IssueKind}. Its action is "skip" (the
 * record is left out, counted, and the first few ids are named in a warning) or "flag"
 * (counted and warned about, record kept). `strict: true` turns every issue into an error.
 * Default actions: structural problems skip; unusual barcode characters (lower case, IUPAC,
 * gaps) are only flagged, because CLIBD itself trains on such barcodes (they become <UNK>
 * k-mers, spec 1.3) and dropping them would change the data set.
 * @module
 */
import { Hdf5File } from "./hdf5.ts";
import { barcodeCharStats } from "./dna.ts";
import { LEVELS, type Taxonomy } from "./taxonomy.ts";

/** Kinds of bad records the loader recognises. */
export type IssueKind =
  | "image_decode_failed"
  | "image_mask_out_of_range"
  | "empty_image"
  | "empty_barcode"
  | "barcode_lowercase"
  | "barcode_iupac"
  | "barcode_gap"
  | "barcode_other_chars"
  | "taxonomy_empty"
  | "text_not_utf8"
  | "empty_split";

/** What happens to a record with an issue. */
export type IssueAction = "skip" | "flag";

/** Default action per kind (see module comment). */
export const DEFAULT_ACTIONS: Readonly<Record<IssueKind, IssueAction>> = {
  image_decode_failed: "skip",
  image_mask_out_of_range: "skip",
  empty_image: "skip",
  empty_barcode: "skip",
  barcode_lowercase: "flag",
  barcode_iupac: "flag",
  barcode_gap: "flag",
  barcode_other_chars: "skip",
  taxonomy_empty: "skip",
  text_not_utf8: "skip",
  empty_split: "skip",
};

/** Bad-record policy options. */
export interface RecordPolicy {
  /** Any issue is an error (default false). */
  strict?: boolean;
  /** Per-kind overrides of {@link DEFAULT_ACTIONS}. */
  actions?: Partial<Record<IssueKind, IssueAction>>;
  /** How many ids a warning names (default 5). */
  nameLimit?: number;
  /** Where warnings go (default console.warn unless CLIBD_QUIET=1). */
  warn?: (line: string) => void;
}

/** Counts issues, warns once per kind, and raises in strict mode. */
export class IssueTracker {
  readonly source: string;
  readonly counts: Map<IssueKind, number> = new Map();
  readonly examples: Map<IssueKind, string[]> = new Map();
  readonly #policy: RecordPolicy;
  readonly #warn: (line: string) => void;

  /** `source` names the file and split in messages, e.g. "data.h5:/val_seen". */
  constructor(source: string, policy: RecordPolicy = {}) {
    this.source = source;
    this.#policy = policy;
    const quiet = (() => {
      try {
        return Deno.env.get("CLIBD_QUIET") === "1";
      } catch {
        return false;
      }
    })();
    this.#warn = policy.warn ?? ((l) => quiet ? undefined : console.warn(l));
  }

  /** The action for a kind under this policy. */
  action(kind: IssueKind): IssueAction {
    return this.#policy.actions?.[kind] ?? DEFAULT_ACTIONS[kind];
  }

  /**
   * Records one issue of record `id`; returns true when the record must be skipped.
   * @throws Error in strict mode, naming the source, record, and problem.
   */
  report(kind: IssueKind, id: string, detail: string): boolean {
    if (this.#policy.strict) {
      throw new Error(`${this.source}: record ${id}: ${kind}: ${detail} (strict mode)`);
    }
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    const ex = this.examples.get(kind) ?? [];
    if (ex.length < (this.#policy.nameLimit ?? 5)) ex.push(id);
    this.examples.set(kind, ex);
    const act = this.action(kind);
    if (n === 1) {
      this.#warn(
        `${this.source}: ${act === "skip" ? "skipping" : "keeping"} record ${id}: ${kind}: ${detail}`,
      );
    }
    return act === "skip";
  }

  /** One line per kind: count and the first few ids. */
  summary(): string[] {
    return [...this.counts].map(([k, n]) =>
      `${this.source}: ${n} record(s) ${this.action(k) === "skip" ? "skipped" : "flagged"} for ${k} ` +
      `(e.g. ${this.examples.get(k)!.join(", ")})`
    );
  }

  /** Prints {@link summary} through the warning sink. */
  warnSummary(): void {
    for (const l of this.summary()) this.#warn(l);
  }
}

/** Metadata of one record (everything except the decoded image). */
export interface RecordMeta {
  /** Row index within the split. */
  index: number;
  /** `image_file` (BIOSCAN-1M) or `processid` (BIOSCAN-5M), else the row number. */
  id: string;
  barcode: string;
  taxonomy: Taxonomy;
  /** JPEG bytes (`image[i, :image_mask[i]]`), or null when the split has no images or they were not asked for. */
  image: Uint8Array | null;
}

/** Options of {@link SplitReader.open}. */
export interface SplitReaderOptions {
  /** Read JPEG bytes (default true when the split has an `image` dataset). */
  images?: boolean;
  policy?: RecordPolicy;
  /** Share one tracker across splits/epochs (default: a new one). */
  tracker?: IssueTracker;
}

/** Reads records of one split group with validation; rows are read in coalesced ranges. */
export class SplitReader {
  readonly file: Hdf5File;
  readonly split: string;
  readonly size: number;
  /** Dataset used as the record id: "image_file", "processid", or null (row numbers). */
  readonly idField: "image_file" | "processid" | null;
  readonly hasImages: boolean;
  readonly tracker: IssueTracker;
  readonly #ownsFile: boolean;

  private constructor(file: Hdf5File, split: string, opts: SplitReaderOptions, owns: boolean) {
    this.file = file;
    this.split = split;
    this.#ownsFile = owns;
    this.tracker = opts.tracker ?? new IssueTracker(`${file.path}:/${split}`, opts.policy);
    if (!file.has(split)) {
      throw new Error(
        `${file.path}: no split "${split}" (file has: ${file.groups().join(", ") || "(nothing)"})`,
      );
    }
    const keys = file.keys(split);
    const need = ["barcode", ...LEVELS];
    const missing = need.filter((k) => !keys.includes(k));
    if (missing.length) {
      throw new Error(
        `${file.path}: split "${split}" lacks dataset(s) ${missing.join(", ")} (has: ${keys.join(", ")})`,
      );
    }
    this.idField = keys.includes("image_file")
      ? "image_file"
      : keys.includes("processid")
      ? "processid"
      : null;
    this.hasImages = keys.includes("image") && (opts.images ?? true);
    if (this.hasImages && !keys.includes("image_mask")) {
      throw new Error(
        `${file.path}: split "${split}" has "image" but no "image_mask" (has: ${keys.join(", ")})`,
      );
    }
    this.size = file.rows(`${split}/barcode`);
    for (
      const k of [
        ...LEVELS,
        ...(this.idField ? [this.idField] : []),
        ...(this.hasImages ? ["image_mask"] : []),
      ]
    ) {
      const n = file.rows(`${split}/${k}`);
      if (n !== this.size) {
        throw new Error(`${file.path}: split "${split}": ${k} has ${n} rows but barcode has ${this.size}`);
      }
    }
    if (this.size === 0) this.tracker.report("empty_split", `(split ${split})`, "split has zero records");
  }

  /** Opens a split of a file (or of an already open {@link Hdf5File}, which stays open on close). */
  static async open(
    file: string | Hdf5File,
    split: string,
    opts: SplitReaderOptions = {},
  ): Promise<SplitReader> {
    const owns = typeof file === "string";
    const f = typeof file === "string" ? await Hdf5File.open(file) : file;
    try {
      return new SplitReader(f, split, opts, owns);
    } catch (e) {
      if (owns) f.close();
      throw e;
    }
  }

  /**
   * Reads and validates records at the given row indices (any order, duplicates allowed).
   * Returns one entry per index: the record, or null if the policy skips it.
   */
  read(indices: readonly number[]): (RecordMeta | null)[] {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.size) {
        throw new Error(
          `${this.file.path}: split "${this.split}": record index ${i} out of range [0, ${this.size})`,
        );
      }
    }
    const cols = this.#readColumns(indices);
    const imgWidth = this.hasImages ? this.file.shape(`${this.split}/image`)[1] : 0;
    return indices.map((index, j) => {
      const id = this.idField ? cols.id[j] : String(index);
      let skip = false;
      const bad = (k: IssueKind, d: string) => {
        if (this.tracker.report(k, id, d)) skip = true;
      };
      const barcode = cols.barcode[j];
      if (barcode.length === 0) bad("empty_barcode", "barcode is empty");
      else {
        const s = barcodeCharStats(barcode);
        if (s.lower) bad("barcode_lowercase", `${s.lower} lower-case character(s) (read as <UNK>)`);
        if (s.iupac) bad("barcode_iupac", `${s.iupac} IUPAC ambiguity code(s) (read as <UNK>)`);
        if (s.gap) bad("barcode_gap", `${s.gap} gap character(s) (read as <UNK>)`);
        if (s.other) bad("barcode_other_chars", `${s.other} character(s) that are not nucleotide codes`);
        if (barcode.includes("\uFFFD")) bad("text_not_utf8", "barcode is not valid UTF-8");
      }
      const taxonomy = {} as Taxonomy;
      for (const l of LEVELS) {
        const v = cols[l][j];
        taxonomy[l] = v;
        if (v.trim() === "") {
          bad("taxonomy_empty", `${l} is empty (missing levels should be "not_classified")`);
        } else if (v.includes("\uFFFD")) bad("text_not_utf8", `${l} is not valid UTF-8`);
      }
      let image: Uint8Array | null = null;
      if (this.hasImages && !skip) {
        const len = cols.mask[j];
        if (!Number.isInteger(len) || len < 0 || len > imgWidth) {
          bad("image_mask_out_of_range", `image_mask ${len} outside the image row of ${imgWidth} bytes`);
        } else if (len === 0) bad("empty_image", "image_mask is 0 (no JPEG bytes)");
        else image = this.file.readRowPrefix(`${this.split}/image`, index, len);
      }
      return skip ? null : { index, id, barcode, taxonomy, image };
    });
  }

  /** Reads the small per-record columns, coalescing nearby indices into range reads. */
  #readColumns(indices: readonly number[]) {
    const names = ["barcode", ...LEVELS, ...(this.idField ? [this.idField] : [])];
    const out: Record<string, string[]> = {};
    for (const n of names) out[n] = new Array(indices.length);
    const mask = new Array<number>(indices.length);
    const order = indices.map((v, j) => [v, j]).sort((a, b) => a[0] - b[0]);
    let r = 0;
    while (r < order.length) {
      // Extend the run while the gap is small: one range read beats many single-row reads.
      let e = r;
      while (e + 1 < order.length && order[e + 1][0] - order[e][0] <= 8) e++;
      const lo = order[r][0], hi = order[e][0] + 1;
      const cols: Record<string, string[]> = {};
      for (const n of names) cols[n] = this.file.readStrings(`${this.split}/${n}`, lo, hi);
      const m = this.hasImages ? this.file.readNumbers(`${this.split}/image_mask`, lo, hi) : null;
      for (let t = r; t <= e; t++) {
        const [row, j] = order[t];
        for (const n of names) out[n][j] = cols[n][row - lo];
        if (m) mask[j] = m[row - lo];
      }
      r = e + 1;
    }
    return {
      barcode: out.barcode,
      order: out.order,
      family: out.family,
      genus: out.genus,
      species: out.species,
      id: this.idField ? out[this.idField] : [],
      mask,
    };
  }

  /** Closes the file if this reader opened it. */
  close(): void {
    if (this.#ownsFile) this.file.close();
  }
}
