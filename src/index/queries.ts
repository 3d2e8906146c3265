/**
 * Query inputs of an identification, each checked on its own so one bad input never stops the
 * others: JPEG photos (PNG/HEIC/truncated/missing files named clearly), DNA barcodes (gaps and IUPAC
 * codes accepted with a warning, as CLIBD reads them as <UNK>; empty or non-nucleotide refused) and
 * FASTA files (malformed records reported by line).
 * @module
 */
import { detectImageFormat } from "../data/image/decode.ts";
import { decodeAndTransform } from "../data/image/transforms.ts";
import { DNA_UNK, tokenizeDna } from "../data/dna.ts";
import { parseFasta } from "../io/fasta.ts";
import type { Preprocess } from "./manifest.ts";

/** One query as given on the command line; `error` is set when it is already known to be unusable. */
export interface QueryInput {
  /** Display name: the image path, `barcode 2`, or `file.fa:record-id`. */
  name: string;
  /** An image file or a DNA barcode. */
  kind: "image" | "barcode";
  /** Image path. */
  path?: string;
  /** Raw barcode text. */
  sequence?: string;
  /** Problem found while collecting (e.g. a malformed FASTA record). */
  error?: string;
}

/** A barcode ready to tokenize, with what the user should know about it. */
export interface CheckedBarcode {
  sequence: string;
  warnings: string[];
}

const ALLOWED = /^[ACGTNRYSWKMBDHV.\-]$/;
const AMBIGUOUS = new Set("RYSWKMBDHV");

/**
 * Checks a query barcode: refuses an empty one, one with characters outside the IUPAC nucleotide
 * codes, `N` and gaps (`-`, `.`), and one with no readable k-mer; warns (and proceeds) for lower
 * case (upper-cased), ambiguity codes and gaps (their k-mers become <UNK>, as in CLIBD) and for
 * barcodes longer than the model reads (truncated, as CLIBD does).
 * @throws Error with the reason and, for bad characters, the position
 */
export function checkBarcode(raw: string, pre: Pick<Preprocess, "dnaK" | "dnaMaxLen">): CheckedBarcode {
  const warnings: string[] = [];
  let seq = raw.trim();
  if (seq.length === 0) throw new Error("empty barcode");
  if (/[a-z]/.test(seq)) {
    seq = seq.toUpperCase();
    warnings.push("lower-case letters read as upper case (CLIBD itself would read them as <UNK>)");
  }
  let amb = 0, gaps = 0;
  for (let i = 0; i < seq.length; i++) {
    const ch = seq[i];
    if (!ALLOWED.test(ch)) {
      const shown = /\s/.test(ch) ? "whitespace" : `'${ch}'`;
      throw new Error(
        `character ${shown} at position ${i + 1} is not a nucleotide, IUPAC code or gap ` +
          `(allowed: A C G T N R Y S W K M B D H V - .)`,
      );
    }
    if (AMBIGUOUS.has(ch)) amb++;
    else if (ch === "-" || ch === ".") gaps++;
  }
  if (amb || gaps) {
    const what = [amb ? `${amb} IUPAC ambiguity code(s)` : "", gaps ? `${gaps} gap(s)` : ""].filter(Boolean);
    warnings.push(`${what.join(" and ")}: the k-mers containing them are read as <UNK>, as CLIBD does`);
  }
  if (seq.length > pre.dnaMaxLen) {
    warnings.push(
      `${seq.length} nt: only the first ${pre.dnaMaxLen} are read (CLIBD truncates the same way)`,
    );
  }
  const ids = tokenizeDna(seq, { k: pre.dnaK, maxLen: pre.dnaMaxLen });
  if (ids.subarray(1).every((t) => t === DNA_UNK)) {
    throw new Error(`no readable ${pre.dnaK}-mer (every k-mer has N, a gap or an ambiguity code)`);
  }
  // The rest is padded with N (<UNK>): a short fragment is mostly padding and its embedding is
  // dominated by it, so its neighbours say little (COI-5P barcodes are ~658 nt).
  const readable = ids.subarray(1).filter((t) => t !== DNA_UNK).length, total = ids.length - 1;
  if (readable < total / 2) {
    warnings.push(
      `only ${readable} of ${total} ${pre.dnaK}-mers are readable (short fragment or many N/gaps): ` +
        `the match is unreliable`,
    );
  }
  return { sequence: seq, warnings };
}

const FORMAT_HINT: Record<string, string> = {
  png: "a PNG image",
  heic: "a HEIC/HEIF image (the iPhone photo format)",
  avif: "an AVIF image",
  gif: "a GIF image",
  webp: "a WebP image",
  tiff: "a TIFF image",
  bmp: "a BMP image",
};

/**
 * Reads a query photo and applies CLIBD's eval transform.
 * @returns [3, crop, crop] pixels in [0, 1]
 * @throws Error naming the file: missing, not a JPEG (with its real format), or corrupt/truncated
 */
export async function loadQueryImage(path: string, pre: Preprocess): Promise<Float32Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${path}: no such file`);
    if (e instanceof Deno.errors.IsADirectory) throw new Error(`${path}: is a folder, not an image`);
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  if (bytes.length === 0) throw new Error(`${path}: empty file (0 bytes)`);
  const fmt = detectImageFormat(bytes);
  if (fmt !== "jpeg") {
    const what = FORMAT_HINT[fmt] ?? "not a recognised image format";
    throw new Error(
      `${path}: ${what}, not a JPEG; the model was trained on JPEG photos, convert it to JPEG first`,
    );
  }
  try {
    return await decodeAndTransform(bytes, { mode: "eval", resize: pre.imageResize, crop: pre.imageCrop });
  } catch (e) {
    const msg = (e as Error).message.replace(/^decodeJpeg:\s*/, "").split("\n")[0];
    throw new Error(`${path}: damaged or truncated JPEG (${msg})`);
  }
}

/**
 * Turns a FASTA file into barcode queries named `file:id`; an unreadable file or a malformed
 * record becomes a query with `error` set (named by its line).
 */
export async function fastaQueries(path: string): Promise<QueryInput[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : `cannot read (${(e as Error).message})`;
    return [{ name: path, kind: "barcode", error: `${path}: ${why}` }];
  }
  const { records, issues } = parseFasta(text, path);
  const out: (QueryInput & { line: number })[] = [
    ...records.map((r) => ({
      name: `${path}:${r.id}`,
      kind: "barcode" as const,
      sequence: r.sequence,
      line: r.line,
    })),
    ...issues.map((i) => ({
      name: `${path}:${i.id ?? `line ${i.line}`}`,
      kind: "barcode" as const,
      error: `malformed FASTA record: ${i.message}`,
      line: i.line,
    })),
  ];
  if (out.length === 0) return [{ name: path, kind: "barcode", error: `${path}: no FASTA records found` }];
  return out.sort((a, b) => a.line - b.line).map(({ line: _line, ...q }) => q);
}
