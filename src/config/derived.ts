/**
 * Values derived from a validated {@link RunConfig}: the model architecture ({@link modelConfigFrom}), the
 * effective contrastive batch, batch-scaled learning rates and the LR schedule.
 * @module
 */
import { dnaTokenCount, dnaVocabSize } from "../data/dna.ts";
import { type BertConfig, type ClibdConfig, LOGIT_SCALE_INIT, validateConfig } from "../models/config.ts";
import { cosine, exponential, type LrSchedule, oneCycle, stepDecay } from "../train/schedule.ts";
import type { BertTowerConfig, RunConfig } from "./schema.ts";

/** CLIBD's `scale_learning_rate` base batch: LRs are multiplied by global batch / 500. */
export const LR_BASE_BATCH = 500;

/** CLIBD's cosine `eta_min` when `lr_config.min_lr` is absent. */
export const DEFAULT_MIN_LR = 1e-9;

function bert(t: BertTowerConfig, vocabSize: number, loraRank: number | null): BertConfig {
  return {
    vocabSize,
    hidden: t.hidden,
    heads: t.heads,
    layers: t.layers,
    intermediate: t.intermediate,
    maxPositions: t.max_positions,
    typeVocabSize: t.type_vocab_size,
    lnEps: t.ln_eps,
    loraRank,
    dropout: t.dropout,
  };
}

/**
 * The model architecture of a run config. The ViT always carries rank-`lora.r` q/v LoRA (CLIBD, spec 1.2);
 * the BERT towers get LoRA only when `disable_lora` is false. DNA vocabulary and sequence length follow
 * from `data.dna_k` / `data.dna_max_len`; text sequence length is `data.text_max_len`.
 * @throws Error from the model's own validation if the sizes are inconsistent
 */
export function modelConfigFrom(cfg: RunConfig): ClibdConfig {
  const bertLora = cfg.disable_lora ? null : cfg.lora.r;
  const out: ClibdConfig = { logitScaleInit: LOGIT_SCALE_INIT };
  if (cfg.image) {
    const v = cfg.image;
    out.image = {
      imageSize: v.image_size,
      patchSize: v.patch_size,
      hidden: v.hidden,
      heads: v.heads,
      layers: v.layers,
      mlp: v.mlp,
      lnEps: v.ln_eps,
      loraRank: cfg.lora.r,
      outputDim: cfg.output_dim,
      dropout: 0,
    };
  }
  if (cfg.dna) {
    const dna = { k: cfg.data.dna_k, maxLen: cfg.data.dna_max_len };
    out.dna = {
      bert: bert(cfg.dna, dnaVocabSize(dna.k), bertLora),
      seqLen: dnaTokenCount(dna),
      outputDim: cfg.output_dim,
    };
  }
  if (cfg.language) {
    out.text = {
      bert: bert(cfg.language, cfg.language.vocab_size, bertLora),
      seqLen: cfg.data.text_max_len,
      outputDim: cfg.output_dim,
      pooler: true,
    };
  }
  validateConfig(out);
  return out;
}

/** The loss batch: `contrastive_batch`, or `batch_size x world_size_equivalent` when unset. */
export function contrastiveBatch(cfg: RunConfig): number {
  return cfg.contrastive_batch ?? cfg.batch_size * cfg.world_size_equivalent;
}

/** The gradient-cache chunk: `chunk_size`, or the whole contrastive batch when unset. */
export function chunkSize(cfg: RunConfig): number {
  return cfg.chunk_size ?? contrastiveBatch(cfg);
}

/** LoRA output scale alpha / r (CLIBD: 1). */
export function loraScale(cfg: RunConfig): number {
  return cfg.lora.alpha / cfg.lora.r;
}

/** Learning rates after CLIBD's batch scaling. */
export interface EffectiveLr {
  /** Multiplier applied (contrastive batch / 500, or 1 with `scale_lr: false`). */
  scale: number;
  lr: number;
  maxLr: number;
  minLr: number;
}

/** `lr_config` scaled like CLIBD's `scale_learning_rate` (lr x global batch / 500). */
export function effectiveLr(cfg: RunConfig): EffectiveLr {
  const scale = cfg.scale_lr ? contrastiveBatch(cfg) / LR_BASE_BATCH : 1;
  const c = cfg.lr_config;
  return { scale, lr: c.lr * scale, maxLr: c.max_lr * scale, minLr: (c.min_lr ?? DEFAULT_MIN_LR) * scale };
}

/**
 * The LR schedule CLIBD's `train_cl.py` builds, stepped once per optimiser step: OneCycle (pct_start 0.3,
 * cos, no momentum cycling), cosine over all steps to min_lr, exponential (gamma 0.95), step (10, 0.5),
 * or a constant LR for `none`.
 * @param totalSteps steps per epoch x epochs
 */
export function lrScheduleFrom(cfg: RunConfig, totalSteps: number): LrSchedule {
  const lr = effectiveLr(cfg);
  switch (cfg.lr_scheduler) {
    case "one_cycle":
      return oneCycle({ maxLr: lr.maxLr, totalSteps, pctStart: 0.3, anneal: "cos" });
    case "cosine":
      return cosine(lr.lr, totalSteps, lr.minLr);
    case "exponential":
      return exponential(lr.lr, 0.95);
    case "step":
      return stepDecay(lr.lr, 10, 0.5);
    case "none":
      return { lrAt: () => lr.lr };
  }
}
