/**
 * Builds a CLIBD-layout HDF5 file (spec 5.1) from metadata records and their JPEGs:
 * one group per split of {@link assignSplits}, each with `image` [N, L] uint8 (zero padded),
 * `image_mask` [N] int64, `barcode`, `order`/`family`/`genus`/`species`, `sampleid`,
 * `processid`, `image_file`, `dna_bin` (UTF-8 strings) and `language_tokens_*` [N, 20] int32.
 * Images are read and written one block of rows at a time, so memory stays bounded.
 * @module
 */
import { Hdf5Writer } from "./hdf5.ts";
import { normaliseLabel, type Taxonomy, taxonomyString } from "./taxonomy.ts";
import {
  assignSplits,
  SPLIT_NAMES,
  type SplitAssignment,
  type SplitName,
  type SplitOptions,
} from "./splits.ts";
import { TextTokenizer } from "./text.ts";

/** One metadata record. */
export interface SourceRecord {
  processid: string;
  sampleid: string;
  taxonomy: Taxonomy;
  barcode: string;
  /** Image file name (relative to the image folder); "" when none. */
  imageFile: string;
  dnaBin: string;
}

/** Where JPEG bytes come from. */
export interface ImageSource {
  /** Byte size of a record's JPEG, or null when it has none (the record is dropped). */
  size(rec: SourceRecord): Promise<number | null>;
  read(rec: SourceRecord): Promise<Uint8Array>;
}

/** JPEGs as files under a folder (`<dir>/<imageFile>`). */
export function folderImages(dir: string): ImageSource {
  return {
    async size(rec) {
      if (!rec.imageFile) return null;
      try {
        return (await Deno.stat(`${dir}/${rec.imageFile}`)).size;
      } catch {
        return null;
      }
    },
    read: (rec) => Deno.readFile(`${dir}/${rec.imageFile}`),
  };
}

// Column names used by BOLD, BIOSCAN-1M and BIOSCAN-5M metadata, in order of preference.
const COLS = {
  processid: ["processid"],
  sampleid: ["sampleid"],
  order: ["order", "order_name"],
  family: ["family", "family_name"],
  genus: ["genus", "genus_name"],
  species: ["species", "species_name"],
  barcode: ["nucleotides", "dna_barcode", "barcode"],
  imageFile: ["image_file"],
  dnaBin: ["dna_bin", "bin_uri", "uri"],
} as const;

/**
 * Parses a BOLD/BIOSCAN metadata TSV (or CSV) into records. Required: processid, the four
 * levels (plain or `_name`), and a barcode column; `image_file` defaults to `<processid>.jpg`.
 * @throws Error naming the file, the line, and the missing columns.
 */
export function parseMetadataTsv(text: string, source = "metadata"): SourceRecord[] {
  const lines = text.split(/\r?\n/).filter((l) => l.length);
  if (!lines.length) throw new Error(`${source}: empty metadata file`);
  const sep = lines[0].includes("\t") ? "\t" : ",";
  const header = lines[0].split(sep).map((h) => h.trim());
  const col = (names: readonly string[]) => names.map((n) => header.indexOf(n)).find((i) => i >= 0) ?? -1;
  const idx = Object.fromEntries(Object.entries(COLS).map(([k, v]) => [k, col(v)])) as Record<
    keyof typeof COLS,
    number
  >;
  const required = ["processid", "order", "family", "genus", "species", "barcode"] as const;
  const missing = required.filter((k) => idx[k] < 0).map((k) => COLS[k].join(" or "));
  if (missing.length) {
    throw new Error(`${source}: missing column(s) ${missing.join("; ")} (header has: ${header.join(", ")})`);
  }
  return lines.slice(1).map((line, n) => {
    const f = line.split(sep);
    if (f.length < header.length - 1) {
      throw new Error(`${source}: line ${n + 2} has ${f.length} fields, header has ${header.length}`);
    }
    const get = (k: keyof typeof COLS) => (idx[k] >= 0 ? (f[idx[k]] ?? "").trim() : "");
    const processid = get("processid");
    return {
      processid,
      sampleid: get("sampleid"),
      taxonomy: {
        order: normaliseLabel(get("order")),
        family: normaliseLabel(get("family")),
        genus: normaliseLabel(get("genus")),
        species: normaliseLabel(get("species")),
      },
      barcode: get("barcode"),
      imageFile: idx.imageFile >= 0 ? get("imageFile") : `${processid}.jpg`,
      dnaBin: get("dnaBin"),
    };
  });
}

/** Build options. */
export interface BuildOptions extends SplitOptions {
  /**
   * gzip level for the `image` dataset (default none, like CLIBD's files). Worth it for small
   * files: it removes most of the zero padding of each row.
   */
  gzipImages?: number;
  /** Rows per image read/write block (default 256). */
  blockRows?: number;
  text?: TextTokenizer;
  /** Progress lines (default none). */
  log?: (line: string) => void;
  /**
   * Check every image before writing (default true): a file that is not a complete JPEG
   * (no SOI marker at the start or no EOI marker at the end, e.g. a PNG or a cut-off
   * download) is dropped and named instead of being stored as an unreadable row.
   */
  validateImages?: boolean;
}

/** Why a JPEG is unusable, or null when it starts with SOI and ends with EOI. */
export function jpegProblem(b: Uint8Array): string | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) return "not a JPEG (no SOI marker)";
  // Some encoders pad after EOI; look for it in the last few bytes.
  for (let i = b.length - 2; i >= Math.max(2, b.length - 64); i--) {
    if (b[i] === 0xff && b[i + 1] === 0xd9) return null;
  }
  return "truncated JPEG (no EOI marker)";
}

/** What was built. */
export interface BuildResult {
  assignment: SplitAssignment;
  /** Records kept (had an image). */
  records: SourceRecord[];
  /** Records dropped because their image was missing. */
  droppedNoImage: string[];
  /** Records dropped because their image is not a complete JPEG: "processid: reason". */
  droppedBadImage: string[];
  imageWidth: number;
}

/** Writes the split HDF5 file for `records` (atomically). */
export async function buildHdf5(
  out: string,
  all: readonly SourceRecord[],
  images: ImageSource,
  opts: BuildOptions = {},
): Promise<BuildResult> {
  const sizes = await Promise.all(all.map((r) => images.size(r)));
  const records: SourceRecord[] = [], lens: number[] = [], droppedNoImage: string[] = [];
  const droppedBadImage: string[] = [];
  for (const [i, r] of all.entries()) {
    if (sizes[i] == null || sizes[i] === 0) {
      droppedNoImage.push(r.processid);
      continue;
    }
    if (opts.validateImages ?? true) {
      const problem = jpegProblem(await images.read(r));
      if (problem) {
        droppedBadImage.push(`${r.processid}: ${problem}`);
        continue;
      }
    }
    records.push(r);
    lens.push(sizes[i]!);
  }
  const assignment = assignSplits(records.map((r) => r.taxonomy.species), opts);
  const width = Math.max(1, ...lens);
  const text = opts.text ?? await TextTokenizer.fromVocabFile();
  const block = opts.blockRows ?? 256;
  const w = await Hdf5Writer.create(out);
  try {
    for (const split of SPLIT_NAMES) {
      const recs = assignment[split].map((i) => records[i]);
      await writeSplit(w, split, recs, images, width, text, block, opts.gzipImages);
      opts.log?.(`wrote ${split}: ${assignment[split].length} records`);
    }
    w.setAttribute("/", "clibd_layout", "bioscan-1m splits (spec 5.1/5.4)");
    w.setAttribute("/", "split_seed", opts.seed ?? 0);
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
  return { assignment, records, droppedNoImage, droppedBadImage, imageWidth: width };
}

async function writeSplit(
  w: Hdf5Writer,
  split: SplitName,
  recs: SourceRecord[],
  images: ImageSource,
  width: number,
  text: TextTokenizer,
  block: number,
  gzip?: number,
): Promise<void> {
  const N = recs.length, L = text.maxLength;
  w.createGroup(split);
  w.createDataset(`${split}/image`, { dtype: "u8", shape: [N, width], gzip });
  const mask = new BigInt64Array(N);
  for (let s = 0; s < N; s += block) {
    const part = recs.slice(s, s + block);
    const bytes = await Promise.all(part.map((r) => images.read(r)));
    const buf = new Uint8Array(part.length * width);
    bytes.forEach((b, j) => {
      if (b.length > width) {
        throw new Error(`builder: image of ${part[j].processid} grew to ${b.length} bytes`);
      }
      buf.set(b, j * width);
      mask[s + j] = BigInt(b.length);
    });
    w.writeRows(`${split}/image`, s, buf);
  }
  w.writeDataset(`${split}/image_mask`, mask, [N], "i64");
  const str = (f: (r: SourceRecord) => string) => recs.map(f);
  w.writeDataset(`${split}/barcode`, str((r) => r.barcode));
  w.writeDataset(`${split}/order`, str((r) => r.taxonomy.order));
  w.writeDataset(`${split}/family`, str((r) => r.taxonomy.family));
  w.writeDataset(`${split}/genus`, str((r) => r.taxonomy.genus));
  w.writeDataset(`${split}/species`, str((r) => r.taxonomy.species));
  w.writeDataset(`${split}/sampleid`, str((r) => r.sampleid));
  w.writeDataset(`${split}/processid`, str((r) => r.processid));
  w.writeDataset(`${split}/image_file`, str((r) => r.imageFile));
  w.writeDataset(`${split}/dna_bin`, str((r) => r.dnaBin));
  const tok = text.encodeBatch(recs.map((r) => taxonomyString(r.taxonomy)));
  // int32 rather than CLIBD's int64: same values (ids < 2^31), half the size; h5py reads either.
  w.writeDataset(`${split}/language_tokens_input_ids`, tok.inputIds, [N, L], "i32");
  w.writeDataset(`${split}/language_tokens_token_type_ids`, tok.tokenTypeIds, [N, L], "i32");
  w.writeDataset(`${split}/language_tokens_attention_mask`, tok.attentionMask, [N, L], "i32");
}
