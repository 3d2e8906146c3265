/**
 * Architecture sizes of the three CLIBD towers. One set of plain objects drives
 * both the full-size model (ViT-B/16, BarcodeBERT 5-mer, BERT-small; spec §1) and
 * the tiny test models, so there is a single code path for both.
 * @module
 */

/** timm ViT image tower (spec §1.2). */
export interface VitConfig {
  /** Input side length in pixels (square images). */
  imageSize: number;
  /** Patch side length; the patch conv has stride = kernel = patch. */
  patchSize: number;
  /** Token width. */
  hidden: number;
  /** Attention heads (hidden must divide evenly). */
  heads: number;
  /** Number of pre-norm transformer blocks. */
  layers: number;
  /** MLP inner width. */
  mlp: number;
  /** LayerNorm epsilon (timm ViT: 1e-6). */
  lnEps: number;
  /** Rank of the always-present q/v LoRA on the fused qkv Linear (CLIBD: 4). */
  loraRank: number;
  /** Width of the shared embedding space (the `head` Linear's output). */
  outputDim: number;
  /** Dropout probability; must be 0 (CLIBD's timm ViT uses none; validateConfig rejects anything else). */
  dropout: number;
}

/** HF BERT backbone shared by the DNA and text towers (spec §1.3, §1.4). */
export interface BertConfig {
  /** Vocabulary size (word embedding rows). */
  vocabSize: number;
  /** Hidden width. */
  hidden: number;
  /** Attention heads. */
  heads: number;
  /** Encoder layers. */
  layers: number;
  /** Feed-forward hidden width. */
  intermediate: number;
  /** Maximum sequence length (position embedding rows). */
  maxPositions: number;
  /** Token-type vocabulary size. */
  typeVocabSize: number;
  /** LayerNorm epsilon (HF BERT: 1e-12). */
  lnEps: number;
  /** Rank of LoRA on attention.self.query/value, or null for none (final CLIBD configs: none). */
  loraRank: number | null;
  /** HF `hidden_dropout_prob` = `attention_probs_dropout_prob`, in [0, 1); applied in training forwards only. */
  dropout: number;
}

/** DNA tower: BarcodeBERT (BertForMaskedLM) + MLM transform + new decoder, softmax-mean pooling. */
export interface DnaConfig {
  /** The BarcodeBERT backbone. */
  bert: BertConfig;
  /** Tokens per barcode (133 for 5-mers of 660 nt plus the leading 0). */
  seqLen: number;
  /** Embedding width of the shared space. */
  outputDim: number;
}

/** Text tower: BERT-small + mean over all positions + `proj` Linear. */
export interface TextConfig {
  /** The BERT backbone. */
  bert: BertConfig;
  /** Tokens per taxonomy string (20). */
  seqLen: number;
  /** Embedding width of the shared space. */
  outputDim: number;
  /** Whether the (unused) HF pooler exists, so state dicts round-trip (BertModel: yes). */
  pooler: boolean;
}

/** A CLIBD model: any subset of the three towers sharing `outputDim`. */
export interface ClibdConfig {
  /** Image tower, absent = none. */
  image?: VitConfig;
  /** DNA tower, absent = none. */
  dna?: DnaConfig;
  /** Text tower, absent = none. */
  text?: TextConfig;
  /** Initial value of the learnable log-scale (log(1/0.07)). */
  logitScaleInit: number;
}

/** log(1 / 0.07): CLIP's and CLIBD's initial temperature. */
export const LOGIT_SCALE_INIT: number = Math.log(1 / 0.07);

/** timm vit_base_patch16_224 with CLIBD's head to `outputDim`. */
export function vitBase16(outputDim = 768): VitConfig {
  return {
    imageSize: 224,
    patchSize: 16,
    hidden: 768,
    heads: 12,
    layers: 12,
    mlp: 3072,
    lnEps: 1e-6,
    loraRank: 4,
    outputDim,
    dropout: 0,
  };
}

/** BarcodeBERT v1 5-mer (BERT-base defaults, vocab 3 + 4^5) as used by CLIBD. */
export function barcodeBert5mer(outputDim = 768): DnaConfig {
  return {
    bert: {
      vocabSize: 1027,
      hidden: 768,
      heads: 12,
      layers: 12,
      intermediate: 3072,
      maxPositions: 512,
      typeVocabSize: 2,
      lnEps: 1e-12,
      loraRank: null,
      dropout: 0.1,
    },
    seqLen: 133,
    outputDim,
  };
}

/** prajjwal1/bert-small as used by CLIBD. */
export function bertSmall(outputDim = 768): TextConfig {
  return {
    bert: {
      vocabSize: 30522,
      hidden: 512,
      heads: 8,
      layers: 4,
      intermediate: 2048,
      maxPositions: 512,
      typeVocabSize: 2,
      lnEps: 1e-12,
      loraRank: null,
      dropout: 0.1,
    },
    seqLen: 20,
    outputDim,
    pooler: true,
  };
}

/** The released CLIBD model (image + DNA + text, 768-d). */
export function clibdFull(): ClibdConfig {
  return { image: vitBase16(), dna: barcodeBert5mer(), text: bertSmall(), logitScaleInit: LOGIT_SCALE_INIT };
}

/** The tiny test model of docs/ARCHITECTURE.md (matches scripts/torch_reference.py). */
export function clibdTiny(): ClibdConfig {
  return {
    image: {
      imageSize: 32,
      patchSize: 16,
      hidden: 32,
      heads: 2,
      layers: 2,
      mlp: 64,
      lnEps: 1e-6,
      loraRank: 4,
      outputDim: 24,
      dropout: 0,
    },
    dna: {
      bert: {
        vocabSize: 67,
        hidden: 32,
        heads: 2,
        layers: 2,
        intermediate: 64,
        maxPositions: 16,
        typeVocabSize: 2,
        lnEps: 1e-12,
        loraRank: null,
        dropout: 0,
      },
      seqLen: 11,
      outputDim: 24,
    },
    text: {
      bert: {
        vocabSize: 30522,
        hidden: 16,
        heads: 2,
        layers: 2,
        intermediate: 32,
        maxPositions: 24,
        typeVocabSize: 2,
        lnEps: 1e-12,
        loraRank: null,
        dropout: 0,
      },
      seqLen: 20,
      outputDim: 24,
      pooler: true,
    },
    logitScaleInit: LOGIT_SCALE_INIT,
  };
}

/** Fields of a HF `config.json` that describe a BERT backbone. */
export interface HfBertJson {
  vocab_size: number;
  hidden_size: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size?: number;
  layer_norm_eps?: number;
  hidden_dropout_prob?: number;
  hidden_act?: string;
}

/** Builds a BertConfig from a HF config.json object (e.g. a checkpoint's `bert_config`). */
export function bertConfigFromHf(j: HfBertJson, loraRank: number | null = null): BertConfig {
  if (j.hidden_act !== undefined && j.hidden_act !== "gelu") {
    throw new Error(`bertConfigFromHf: hidden_act ${j.hidden_act} is not supported (only exact "gelu")`);
  }
  return {
    vocabSize: j.vocab_size,
    hidden: j.hidden_size,
    heads: j.num_attention_heads,
    layers: j.num_hidden_layers,
    intermediate: j.intermediate_size,
    maxPositions: j.max_position_embeddings,
    typeVocabSize: j.type_vocab_size ?? 2,
    lnEps: j.layer_norm_eps ?? 1e-12,
    loraRank,
    dropout: j.hidden_dropout_prob ?? 0.1,
  };
}

/** Number of image tokens (patches + CLS). */
export function vitTokens(c: VitConfig): number {
  const g = c.imageSize / c.patchSize;
  return g * g + 1;
}

/** Throws on sizes the kernels cannot handle, naming the field. */
export function validateConfig(c: ClibdConfig): void {
  const check = (ok: boolean, msg: string) => {
    if (!ok) throw new Error(`config: ${msg}`);
  };
  if (c.image) {
    const v = c.image;
    check(
      v.imageSize % v.patchSize === 0,
      `image.imageSize ${v.imageSize} not a multiple of patch ${v.patchSize}`,
    );
    check(v.hidden % v.heads === 0, `image.hidden ${v.hidden} not divisible by heads ${v.heads}`);
    check(v.loraRank > 0, "image.loraRank must be > 0 (CLIBD's ViT always has LoRA)");
    check(v.dropout === 0, `image.dropout ${v.dropout}: the ViT has no dropout (must be 0)`);
  }
  for (const [name, t] of [["dna", c.dna], ["text", c.text]] as const) {
    if (!t) continue;
    check(t.bert.hidden % t.bert.heads === 0, `${name}.bert.hidden not divisible by heads`);
    check(
      t.bert.dropout >= 0 && t.bert.dropout < 1,
      `${name}.bert.dropout ${t.bert.dropout} must be in [0, 1)`,
    );
    check(
      t.seqLen <= t.bert.maxPositions,
      `${name}.seqLen ${t.seqLen} > maxPositions ${t.bert.maxPositions}`,
    );
  }
  const dims = [c.image?.outputDim, c.dna?.outputDim, c.text?.outputDim].filter((d) => d !== undefined);
  check(new Set(dims).size <= 1, `towers disagree on outputDim (${dims})`);
}
