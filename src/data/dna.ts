/**
 * DNA barcode tokenizer of CLIBD's BarcodeBERT v1 pipeline (spec 1.3):
 * pad with `N` / truncate to `maxLen`, cut into non-overlapping k-mers, map each
 * k-mer to its index in the vocabulary `<MASK>=0, <CLS>=1, <UNK>=2, then all 4^k
 * ACGT k-mers in lexicographic order`, and prepend token 0 (`<MASK>`).
 * Like the original (torchtext vocab lookup), nothing is upper-cased: any k-mer
 * with a character outside `ACGT` (N, IUPAC codes, gaps, lower case) becomes `<UNK>`.
 * @module
 */

/** Tokenizer settings; CLIBD uses k = 5, maxLen = 660 (133 tokens). */
export interface DnaTokenizerOptions {
  /** k-mer length (and stride). Default 5. */
  k?: number;
  /** Sequence length after padding/truncation, in nucleotides. Default 660. */
  maxLen?: number;
}

/** Special token ids, fixed by the order torchtext built the vocabulary in. */
export const DNA_MASK = 0, DNA_CLS = 1, DNA_UNK = 2;

const NUC = new Int8Array(128).fill(-1);
NUC[65] = 0; // A
NUC[67] = 1; // C
NUC[71] = 2; // G
NUC[84] = 3; // T

/** Vocabulary size for k: 3 specials + 4^k k-mers (1027 for k = 5). */
export function dnaVocabSize(k = 5): number {
  return 3 + 4 ** k;
}

/** Number of tokens per sequence: 1 leading `<MASK>` + maxLen / k (133 for CLIBD). */
export function dnaTokenCount(opts: DnaTokenizerOptions = {}): number {
  const { k, maxLen } = resolve(opts);
  return 1 + Math.floor(maxLen / k);
}

function resolve(opts: DnaTokenizerOptions): { k: number; maxLen: number } {
  const k = opts.k ?? 5, maxLen = opts.maxLen ?? 660;
  if (!Number.isInteger(k) || k < 1 || k > 12) {
    throw new Error(`DNA tokenizer: k must be an integer in 1..12, got ${k}`);
  }
  if (!Number.isInteger(maxLen) || maxLen < k) {
    throw new Error(`DNA tokenizer: maxLen must be an integer >= k (${k}), got ${maxLen}`);
  }
  return { k, maxLen };
}

/**
 * Tokenizes one barcode into `out` (length {@link dnaTokenCount}) starting at `offset`.
 * Padding positions hold `N`, so their k-mers are `<UNK>` exactly as in the original.
 */
export function tokenizeDnaInto(
  seq: string,
  out: Int32Array,
  offset = 0,
  opts: DnaTokenizerOptions = {},
): void {
  const { k, maxLen } = resolve(opts);
  const n = Math.floor(maxLen / k);
  out[offset] = DNA_MASK;
  for (let j = 0; j < n; j++) {
    let id = 0;
    for (let c = 0; c < k; c++) {
      const pos = j * k + c;
      // Beyond the sequence is `N` padding; `N` is not ACGT, so the k-mer is <UNK>.
      const code = pos < seq.length ? seq.charCodeAt(pos) : 78;
      const v = code < 128 ? NUC[code] : -1;
      if (v < 0) {
        id = -1;
        break;
      }
      id = id * 4 + v;
    }
    out[offset + 1 + j] = id < 0 ? DNA_UNK : 3 + id;
  }
}

/** Tokenizes one barcode: Int32Array of {@link dnaTokenCount} ids. */
export function tokenizeDna(seq: string, opts: DnaTokenizerOptions = {}): Int32Array {
  const out = new Int32Array(dnaTokenCount(opts));
  tokenizeDnaInto(seq, out, 0, opts);
  return out;
}

/** Tokenizes a batch into one row-major [B, T] Int32Array, ready to upload. */
export function tokenizeDnaBatch(seqs: readonly string[], opts: DnaTokenizerOptions = {}): Int32Array {
  const t = dnaTokenCount(opts);
  const out = new Int32Array(seqs.length * t);
  for (let i = 0; i < seqs.length; i++) tokenizeDnaInto(seqs[i], out, i * t, opts);
  return out;
}

/** Counts of characters in a barcode that are not upper-case A, C, G, T or N. */
export interface BarcodeCharStats {
  /** Lower-case nucleotides or codes (`acgtn...`): read as <UNK> by the original pipeline. */
  lower: number;
  /** Upper-case IUPAC ambiguity codes other than N (R Y S W K M B D H V). */
  iupac: number;
  /** Alignment gaps `-` and `.`. */
  gap: number;
  /** Anything else (digits, whitespace, punctuation, non-ASCII). */
  other: number;
}

const IUPAC = new Set("RYSWKMBDHV");

/** Classifies the non-ACGTN characters of a barcode (used by the bad-record policy). */
export function barcodeCharStats(seq: string): BarcodeCharStats {
  const s: BarcodeCharStats = { lower: 0, iupac: 0, gap: 0, other: 0 };
  for (const ch of seq) {
    if (ch === "A" || ch === "C" || ch === "G" || ch === "T" || ch === "N") continue;
    if (ch === "-" || ch === ".") s.gap++;
    else if (IUPAC.has(ch)) s.iupac++;
    else if (/^[a-z]$/.test(ch) && IUPAC.has(ch.toUpperCase()) || "acgtn".includes(ch)) s.lower++;
    else s.other++;
  }
  return s;
}
