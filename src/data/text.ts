/**
 * Taxonomy-text tokenizer: CLIBD's `AutoTokenizer('prajjwal1/bert-small')` call
 * `tokenizer([s], padding='max_length', max_length=20, truncation=True)` (spec 1.4),
 * rebuilt from the bert-base-uncased WordPiece vocabulary with npm:@huggingface/tokenizers
 * (BertNormalizer: clean text, CJK spacing, lower case, strip accents; BertPreTokenizer;
 * WordPiece with `##`, words over 100 characters -> [UNK]), then truncated to
 * `maxLength - 2` word pieces, wrapped in [CLS] ... [SEP] and padded with [PAD] = 0.
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { bundledLocation, readTextLocation } from "../util/location.ts";

/** Default vocabulary shipped with the project (bert-base-uncased, 30,522 entries). */
export const DEFAULT_VOCAB_URL: URL = new URL(
  "../../data/vocab/bert-base-uncased-vocab.txt",
  import.meta.url,
);
/** The bundled vocabulary: a file path in a local checkout, the http(s) URL when imported from one. */
export const DEFAULT_VOCAB_PATH: string = bundledLocation(DEFAULT_VOCAB_URL);

/** Tokens of a batch, row-major [B, maxLength], ready to upload. */
export interface TextTokens {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
}

/** BERT WordPiece tokenizer with CLIBD's fixed-length padding and truncation. */
export class TextTokenizer {
  readonly maxLength: number;
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly #tok: Tokenizer;

  private constructor(vocab: string[], maxLength: number) {
    if (maxLength < 2) throw new Error(`text tokenizer: maxLength must be >= 2, got ${maxLength}`);
    const map: Record<string, number> = {};
    vocab.forEach((w, i) => {
      if (!(w in map)) map[w] = i;
    });
    const id = (t: string): number => {
      if (!(t in map)) throw new Error(`text tokenizer: vocabulary has no ${t} token`);
      return map[t];
    };
    this.clsId = id("[CLS]");
    this.sepId = id("[SEP]");
    this.padId = id("[PAD]");
    id("[UNK]");
    this.maxLength = maxLength;
    this.vocabSize = vocab.length;
    const special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].filter((t) => t in map);
    this.#tok = new Tokenizer({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: special.map((t) => ({
        id: map[t],
        content: t,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: {
        type: "BertNormalizer",
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: null, // null = follow lowercase, as in HF's BertTokenizerFast
        lowercase: true,
      },
      pre_tokenizer: { type: "BertPreTokenizer" },
      post_processor: null,
      decoder: { type: "WordPiece", prefix: "##", cleanup: true },
      model: {
        type: "WordPiece",
        unk_token: "[UNK]",
        continuing_subword_prefix: "##",
        max_input_chars_per_word: 100,
        vocab: map,
      },
    }, { do_lower_case: true, model_max_length: 512 });
  }

  /**
   * Loads a vocab.txt (one token per line, id = line number). The default is the bundled
   * bert-base-uncased vocabulary, fetched over HTTP(S) when the module itself was imported
   * from a URL (JSR) and read from disk in a local checkout.
   */
  static async fromVocabFile(path: string = DEFAULT_VOCAB_PATH, maxLength = 20): Promise<TextTokenizer> {
    let text: string;
    try {
      text = await readTextLocation(path);
    } catch (e) {
      throw new Error(`text tokenizer: cannot read vocabulary ${path}: ${(e as Error).message}`);
    }
    return TextTokenizer.fromVocab(text.replace(/\r?\n$/, "").split(/\r?\n/), maxLength);
  }

  /** Builds the tokenizer from a vocabulary list (index = token id). */
  static fromVocab(vocab: string[], maxLength = 20): TextTokenizer {
    return new TextTokenizer(vocab, maxLength);
  }

  /** WordPiece ids of `text` without special tokens or truncation. */
  wordPieceIds(text: string): number[] {
    return this.#tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Encodes one string into row `row` of the given arrays. */
  encodeInto(text: string, out: TextTokens, row: number): void {
    const L = this.maxLength, base = row * L;
    // HF truncation of a single sequence keeps the first maxLength - 2 pieces.
    const ids = this.wordPieceIds(text).slice(0, L - 2);
    const seq = [this.clsId, ...ids, this.sepId];
    for (let j = 0; j < L; j++) {
      const present = j < seq.length;
      out.inputIds[base + j] = present ? seq[j] : this.padId;
      out.tokenTypeIds[base + j] = 0;
      out.attentionMask[base + j] = present ? 1 : 0;
    }
  }

  /** Encodes a batch into [B, maxLength] Int32Arrays. */
  encodeBatch(texts: readonly string[]): TextTokens {
    const n = texts.length * this.maxLength;
    const out: TextTokens = {
      inputIds: new Int32Array(n),
      tokenTypeIds: new Int32Array(n),
      attentionMask: new Int32Array(n),
    };
    texts.forEach((t, i) => this.encodeInto(t, out, i));
    return out;
  }
}
