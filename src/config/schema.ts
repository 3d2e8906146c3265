/**
 * The training/evaluation run configuration: TypeScript types plus a declarative field table
 * ({@link RUN_CONFIG_SCHEMA}) that drives validation, defaults and typed `--set` overrides.
 *
 * Field names follow CLIBD's model configs (`bioscanclip/config/model_config/...`, spec 9.1) where CLIBD has
 * the field. Defaults are CLIBD's final BIOSCAN-1M setting and the full-size towers (ViT-B/16, BarcodeBERT
 * 5-mer, BERT-small), except where marked "improvement": there the CLIBD value is given in the doc string
 * and is one config line away.
 * @module
 */

/** Epoch order of the training loader. CLIBD's runs behave as "fixed" (spec 10.9: `set_epoch` never called). */
export type ShuffleMode = "per_epoch" | "fixed" | "none";

/** Learning-rate schedulers of CLIBD's `train_cl.py`; "none" = constant LR (CLIBD without `lr_scheduler`). */
export type LrSchedulerName = "one_cycle" | "cosine" | "exponential" | "step" | "none";

/** Fields shared by the three towers. */
export interface TowerCommon {
  /** Pretrained weights (timm / HF / BarcodeBERT / CLIBD file) loaded before training; null = random init. */
  checkpoint: string | null;
  /** Freeze the tower's backbone during training (CLIBD's `freeze`; false in the final configs). */
  freeze: boolean;
}

/** Image tower (timm ViT, spec 1.2). */
export interface ImageTowerConfig extends TowerCommon {
  /** Input side in pixels (square images). */
  image_size: number;
  /** Patch side in pixels (ViT patch embedding). */
  patch_size: number;
  /** Transformer width. */
  hidden: number;
  /** Attention heads. */
  heads: number;
  /** Transformer blocks. */
  layers: number;
  /** MLP hidden width. */
  mlp: number;
  /** LayerNorm epsilon. */
  ln_eps: number;
  /** Per-channel normalisation applied after [0,1] scaling; null = none (CLIBD, spec 10.1). */
  mean: number[] | null;
  /** Per-channel standard deviation applied with `mean`; null = none. */
  std: number[] | null;
}

/** A BERT backbone's sizes (DNA and text towers). */
export interface BertTowerConfig extends TowerCommon {
  /** Transformer width. */
  hidden: number;
  /** Attention heads. */
  heads: number;
  /** Transformer layers. */
  layers: number;
  /** Feed-forward hidden width. */
  intermediate: number;
  /** Maximum sequence length (position embeddings). */
  max_positions: number;
  /** Token-type (segment) vocabulary size. */
  type_vocab_size: number;
  /** LayerNorm epsilon. */
  ln_eps: number;
  /** Dropout probability in [0, 1) of training forwards (HF hidden_dropout_prob = attention_probs_dropout_prob; CLIBD: 0.1). */
  dropout: number;
}

/** DNA tower (BarcodeBERT). Vocabulary and sequence length follow from `data.dna_k` / `data.dna_max_len`. */
export type DnaTowerConfig = BertTowerConfig;

/** Text tower (BERT-small). Sequence length is `data.text_max_len`. */
export interface LanguageTowerConfig extends BertTowerConfig {
  /** WordPiece vocabulary size (bert-base-uncased: 30,522). */
  vocab_size: number;
}

/** Learning rates before batch scaling (CLIBD's `lr_config`). */
export interface LrConfig {
  /** Optimiser's nominal LR (one_cycle overrides it; the base LR of the other schedulers). */
  lr: number;
  /** OneCycle peak. */
  max_lr: number;
  /** Cosine `eta_min`; null = CLIBD's default 1e-9. */
  min_lr: number | null;
}

/** AdamW hyper-parameters (CLIBD: PyTorch defaults). */
export interface OptimizerConfig {
  /** Decoupled weight decay. */
  weight_decay: number;
  /** First-moment decay (Adam beta1). */
  beta1: number;
  /** Second-moment decay (Adam beta2). */
  beta2: number;
  /** Denominator epsilon. */
  eps: number;
}

/** LoRA settings (spec 2). */
export interface LoraConfig {
  /** LoRA rank. */
  r: number;
  /** LoRA scaling numerator (the update is scaled by alpha / r). */
  alpha: number;
  /** Attention projections that get LoRA. */
  targets: ("query" | "value")[];
}

/** Dataset and preprocessing. */
export interface DataConfig {
  /** HDF5 file in CLIBD's layout (spec 5.1). */
  path: string;
  /** Split the model trains on (CLIBD: no_split_and_seen_train). */
  train_split: string;
  /** Query splits of validation (seen and unseen species). */
  val_query_splits: string[];
  /** Query splits of the test evaluation. */
  test_query_splits: string[];
  /** Split the queries are matched against (CLIBD: all_keys). */
  key_split: string;
  /** Shorter side after resize, then square crop (CLIBD: 256 / 224). */
  image_resize: number;
  /** Square crop side in pixels (the image tower's input size). */
  image_crop: number;
  /** DNA k-mer length. */
  dna_k: number;
  /** Barcode length in nucleotides after padding/truncation with N. */
  dna_max_len: number;
  /** Text tokens per taxonomy string. */
  text_max_len: number;
  /** Image decode workers; null = automatic. */
  workers: number | null;
  /** Use only the first N training records (smoke runs); null = all. */
  train_limit: number | null;
}

/** A fully resolved, validated run configuration. */
export interface RunConfig {
  /** Run name (names the run folder). */
  name: string;
  /** Dataset kind: `demo` or a BIOSCAN dataset in CLIBD's HDF5 layout. */
  dataset: string;
  /** Width of the shared embedding space. */
  output_dim: number;
  /** Image tower; null = no image tower. */
  image: ImageTowerConfig | null;
  /** DNA tower; null = no DNA tower. */
  dna: DnaTowerConfig | null;
  /** Text tower; null = no text tower. */
  language: LanguageTowerConfig | null;
  /** Batch size per (simulated) process. */
  batch_size: number;
  /** Number of processes CLIBD's recipe assumes (scales the LR and the contrastive batch). */
  world_size_equivalent: number;
  /** Samples per contrastive loss computation; null = the whole batch. */
  contrastive_batch: number | null;
  /** Samples per forward/backward chunk (gradient accumulation); null = the whole batch in one pass. */
  chunk_size: number | null;
  /** Scale the learning rates with the global batch size (CLIBD's `lr * batch / 500`-style rule). */
  scale_lr: boolean;
  /** Training epochs. */
  epochs: number;
  /** Learning-rate schedule. */
  lr_scheduler: LrSchedulerName;
  /** Learning rates of the schedule. */
  lr_config: LrConfig;
  /** AdamW hyper-parameters. */
  optimizer: OptimizerConfig;
  /** Train without LoRA (full fine-tuning of the trained parts). */
  disable_lora: boolean;
  /** LoRA settings (used when `disable_lora` is false). */
  lora: LoraConfig;
  /** Keep the temperature (logit scale) fixed instead of learning it. */
  fix_temperature: boolean;
  /** Validation is skipped up to and including this epoch (-1 = validate from the first). */
  eval_skip_epoch: number;
  /** Validate every this many epochs. */
  evaluation_period: number;
  /** Seed of initialisation, shuffling and sampling. */
  seed: number;
  /** Load `ckpt_path` before training. */
  load_ckpt: boolean;
  /** Checkpoint to load when `load_ckpt` is true. */
  ckpt_path: string | null;
  /** Order of the training records. */
  shuffle: ShuffleMode;
  /** Write `last.safetensors` every this many steps; null = only at epoch ends. */
  checkpoint_every: number | null;
  /** Log the loss every this many steps. */
  log_every: number;
  /** Mixed precision (CLIBD's AMP flag). */
  amp: boolean;
  /** Folder under which run folders are created. */
  output_dir: string;
  /** Dataset and preprocessing. */
  data: DataConfig;
}

/** One field of the schema. `path` fields are resolved relative to the file that sets them. */
export type FieldSpec =
  | {
    kind: "number";
    default: number | null;
    nullable?: boolean;
    int?: boolean;
    /** Inclusive lower bound. */
    min?: number;
    /** Exclusive lower bound. */
    gt?: number;
    /** Inclusive upper bound. */
    max?: number;
    /** Exclusive upper bound. */
    lt?: number;
    doc: string;
  }
  | { kind: "bool"; default: boolean; doc: string }
  | { kind: "string" | "path"; default: string | null; nullable?: boolean; doc: string }
  | { kind: "enum"; values: readonly string[]; default: string; doc: string }
  | {
    kind: "list";
    item: "number" | "string";
    /** Allowed item values for string lists. */
    values?: readonly string[];
    length?: number;
    default: (number | string)[] | null;
    nullable?: boolean;
    doc: string;
  }
  | {
    kind: "section";
    fields: Readonly<Record<string, FieldSpec>>;
    /** Optional sections default to null (absent = removed, e.g. a tower). */
    optional?: boolean;
    doc: string;
  };

const num = (
  d: number | null,
  doc: string,
  o: { int?: boolean; min?: number; gt?: number; max?: number; lt?: number; nullable?: boolean } = {},
): FieldSpec => ({ kind: "number", default: d, doc, ...o });
const posInt = (d: number, doc: string): FieldSpec => num(d, doc, { int: true, min: 1 });
const bool = (d: boolean, doc: string): FieldSpec => ({ kind: "bool", default: d, doc });
const str = (d: string, doc: string): FieldSpec => ({ kind: "string", default: d, doc });
const path = (d: string | null, doc: string): FieldSpec => ({
  kind: "path",
  default: d,
  nullable: d === null,
  doc,
});

const towerCommon = {
  checkpoint: path(null, "pretrained weights; null = random init"),
  freeze: bool(false, "freeze the backbone (CLIBD final configs: false)"),
} as const;

function bertFields(d: {
  hidden: number;
  heads: number;
  layers: number;
  intermediate: number;
}): Record<string, FieldSpec> {
  return {
    ...towerCommon,
    hidden: posInt(d.hidden, "hidden width"),
    heads: posInt(d.heads, "attention heads"),
    layers: posInt(d.layers, "transformer layers"),
    intermediate: posInt(d.intermediate, "FFN inner width"),
    max_positions: posInt(512, "position-embedding table size"),
    type_vocab_size: posInt(2, "token-type vocabulary"),
    ln_eps: num(1e-12, "LayerNorm epsilon (HF BERT)", { gt: 0 }),
    dropout: num(0, "HF hidden/attention-probs dropout in training forwards (CLIBD: 0.1, HF default)", {
      min: 0,
      lt: 1,
    }),
  };
}

/** The schema of {@link RunConfig}: types, defaults, bounds and one-line docs. */
export const RUN_CONFIG_SCHEMA: Readonly<Record<string, FieldSpec>> = {
  name: str("clibd", "run name: runs/<name>-<timestamp>/ (CLIBD's model_output_name)"),
  dataset: str("bioscan_1m", "dataset label for reports (bioscan_1m | bioscan_5m | demo | ...)"),
  output_dim: posInt(768, "width of the shared embedding space"),
  image: {
    kind: "section",
    optional: true,
    doc: "image tower (timm ViT); absent or null = no image tower",
    fields: {
      ...towerCommon,
      image_size: posInt(224, "input side in pixels; must equal data.image_crop"),
      patch_size: posInt(16, "patch side"),
      hidden: posInt(768, "token width"),
      heads: posInt(12, "attention heads"),
      layers: posInt(12, "transformer blocks"),
      mlp: posInt(3072, "MLP inner width"),
      ln_eps: num(1e-6, "LayerNorm epsilon (timm)", { gt: 0 }),
      mean: {
        kind: "list",
        item: "number",
        length: 3,
        default: null,
        nullable: true,
        doc: "pixel mean; CLIBD none",
      },
      std: {
        kind: "list",
        item: "number",
        length: 3,
        default: null,
        nullable: true,
        doc: "pixel std; CLIBD none",
      },
    },
  },
  dna: {
    kind: "section",
    optional: true,
    doc: "DNA tower (BarcodeBERT); absent or null = no DNA tower",
    fields: bertFields({ hidden: 768, heads: 12, layers: 12, intermediate: 3072 }),
  },
  language: {
    kind: "section",
    optional: true,
    doc: "text tower (BERT-small); absent or null = no text tower",
    fields: {
      ...bertFields({ hidden: 512, heads: 8, layers: 4, intermediate: 2048 }),
      vocab_size: posInt(30522, "WordPiece vocabulary (bert-base-uncased)"),
    },
  },
  batch_size: posInt(500, "CLIBD's per-GPU batch (used with world_size_equivalent)"),
  world_size_equivalent: posInt(1, "number of GPUs the run stands in for (CLIBD final: 4)"),
  contrastive_batch: num(null, "loss batch; null = batch_size x world_size_equivalent (CLIBD: 2000)", {
    int: true,
    min: 2,
    nullable: true,
  }),
  chunk_size: num(null, "gradient-cache chunk (memory only, same gradients); null = contrastive_batch", {
    int: true,
    min: 1,
    nullable: true,
  }),
  scale_lr: bool(true, "multiply lr/max_lr/min_lr by contrastive_batch / 500 (CLIBD's scale_learning_rate)"),
  epochs: posInt(50, "training epochs (CLIBD: 1M 50, 5M 20)"),
  lr_scheduler: {
    kind: "enum",
    values: ["one_cycle", "cosine", "exponential", "step", "none"],
    default: "one_cycle",
    doc: "schedule, stepped every iteration; none = constant lr (CLIBD configs without lr_scheduler)",
  },
  lr_config: {
    kind: "section",
    doc: "learning rates before batch scaling",
    fields: {
      lr: num(1e-6, "nominal / base LR", { gt: 0 }),
      max_lr: num(5e-5, "OneCycle peak", { gt: 0 }),
      min_lr: num(null, "cosine eta_min; null = 1e-9", { min: 0, nullable: true }),
    },
  },
  optimizer: {
    kind: "section",
    doc: "AdamW (PyTorch defaults, as CLIBD)",
    fields: {
      weight_decay: num(0.01, "decoupled weight decay", { min: 0 }),
      beta1: num(0.9, "first-moment decay", { min: 0, max: 1 }),
      beta2: num(0.999, "second-moment decay", { min: 0, max: 1 }),
      eps: num(1e-8, "denominator epsilon", { gt: 0 }),
    },
  },
  disable_lora: bool(
    true,
    "true = full fine-tuning (final configs); false = LoRA on BERT towers, frozen bases",
  ),
  lora: {
    kind: "section",
    doc: "LoRA (always present on the ViT's q/v, spec 1.2)",
    fields: {
      r: posInt(4, "rank"),
      alpha: num(4, "scale = alpha / r (CLIBD: no scaling, i.e. alpha = r)", { gt: 0 }),
      targets: {
        kind: "list",
        item: "string",
        values: ["query", "value"],
        default: ["query", "value"],
        doc: "projections that get LoRA",
      },
    },
  },
  fix_temperature: bool(false, "true = constant logit scale 1/0.07"),
  eval_skip_epoch: num(23, "validate only after epochs > this (0-based, CLIBD 1M: 23, 5M: 10); -1 = always", {
    int: true,
    min: -1,
  }),
  evaluation_period: posInt(1, "validate every N epochs"),
  seed: num(42, "seed of initialisation, shuffling and augmentation", { int: true, min: 0 }),
  load_ckpt: bool(true, "evaluation: load the trained checkpoint (false = no-alignment baseline)"),
  ckpt_path: path(null, "trained CLIBD checkpoint for evaluation"),
  shuffle: {
    kind: "enum",
    values: ["per_epoch", "fixed", "none"],
    default: "per_epoch",
    doc: "improvement: per_epoch; CLIBD: fixed (same order every epoch)",
  },
  checkpoint_every: num(
    500,
    "save last.safetensors every N steps (and every epoch end); null = epoch ends only",
    {
      int: true,
      min: 1,
      nullable: true,
    },
  ),
  log_every: posInt(10, "write a metrics.jsonl record every N steps"),
  amp: bool(false, "recorded only (CLIBD: bf16 autocast); training here is f32"),
  output_dir: path("runs", "folder that holds run folders"),
  data: {
    kind: "section",
    doc: "dataset and preprocessing",
    fields: {
      path: path("data/BIOSCAN_1M/split_data/BioScan_data_in_splits.hdf5", "HDF5 file"),
      train_split: str("no_split_and_seen_train", "training group"),
      val_query_splits: {
        kind: "list",
        item: "string",
        default: ["val_seen", "val_unseen"],
        doc: "validation query groups",
      },
      test_query_splits: {
        kind: "list",
        item: "string",
        default: ["test_seen", "test_unseen"],
        doc: "test query groups",
      },
      key_split: str("all_keys", "key (reference) group"),
      image_resize: posInt(256, "shorter side after resize"),
      image_crop: posInt(224, "square crop side"),
      dna_k: num(5, "k-mer size", { int: true, min: 1, max: 12 }),
      dna_max_len: posInt(660, "barcode length after padding/truncation (nt)"),
      text_max_len: posInt(20, "taxonomy-text tokens incl. [CLS]/[SEP]"),
      workers: num(null, "image decode workers; null = automatic", { int: true, min: 0, nullable: true }),
      train_limit: num(null, "use only the first N training records; null = all", {
        int: true,
        min: 1,
        nullable: true,
      }),
    },
  },
};
