/**
 * CLIBD text tower (spec §1.4): HF BertModel (BERT-small) -> plain mean over all
 * T positions of the last hidden state, [PAD] positions included (the mask is
 * only used inside attention) -> `proj` Linear -> L2 normalisation. The BERT
 * pooler exists in the checkpoint but is unused and never gets a gradient.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { linearBackward, linearForward } from "../ops/linear.ts";
import { meanPool, meanPoolBackward } from "../ops/pool.ts";
import type { TextConfig } from "./config.ts";
import { addLinear, type Init, type ParamStore, type TrainMode } from "./params.ts";
import { anyTrained, linearRef } from "./layers.ts";
import { ActivationRecord, releaseTensor } from "./record.ts";
import { Bert, type BertActivations, bertDropout, type BertInputs } from "./bert.ts";
import {
  type ForwardOptions,
  normalizeBackward,
  normalizeOut,
  recordsActivations,
  type Tower,
  type TowerActivations,
  type TowerForward,
} from "./tower.ts";

/** Canonical prefix of the BertModel. */
export const TEXT_PREFIX = "language_encoder.base_language_encoder";
/** Canonical prefix of the projection to the shared space. */
export const TEXT_PROJ = "language_encoder.proj";

/** Saved activations of a text forward. */
export interface TextActivations extends TowerActivations {
  /** The backbone's activations. */
  bert: BertActivations;
  /** Mean-pooled hidden state [B,C] (the projection's input). */
  pooled: Tensor;
}

/** The text tower; inputs are the tokenizer's three [B,T] arrays. */
export class TextEncoder implements Tower<BertInputs, TextActivations> {
  readonly kind = "text" as const;
  readonly prefix = "language_encoder.";
  /** The BERT backbone. */
  readonly bert: Bert;
  /** The text tower over parameters registered in `store` (see {@link TextEncoder.register}). */
  constructor(readonly be: Backend, readonly store: ParamStore, readonly cfg: TextConfig) {
    this.bert = new Bert(be, store, cfg.bert, TEXT_PREFIX);
  }

  /** Registers BERT, the unused pooler (when configured) and `proj`. */
  static register(s: ParamStore, init: Init, c: TextConfig): void {
    Bert.register(s, init, c.bert, TEXT_PREFIX);
    const C = c.bert.hidden;
    if (c.pooler) addLinear(s, init, `${TEXT_PREFIX}.pooler.dense`, C, C, "frozen");
    addLinear(s, init, TEXT_PROJ, c.outputDim, C, "lora");
  }

  /** {inputIds i32, tokenTypeIds i32, attentionMask f32} [B,T] -> embeddings [B,D]. */
  forward(inp: BertInputs, opts: ForwardOptions = {}): TowerForward<TextActivations> {
    const be = this.be, c = this.cfg, rec = recordsActivations(opts) ? new ActivationRecord(be) : null;
    const [B, T] = inp.inputIds.shape;
    const { hidden, act: bert } = this.bert.forward(inp, rec, bertDropout(c.bert, opts));
    return be.tidy(() => {
      const pooled = meanPool(be, hidden.reshape([B, T, c.bert.hidden]));
      const raw = linearForward(be, pooled, linearRef(this.store, TEXT_PROJ).p);
      const out = normalizeOut(be, raw, rec);
      if (!rec) {
        releaseTensor(be, hidden);
        return { emb: out.emb, act: null };
      }
      rec.save(pooled);
      return { emb: out.emb, act: { rec, out, bert: bert!, pooled } };
    });
  }

  /** Inference embedding [B,D], nothing kept. */
  embed(inp: BertInputs): Tensor {
    return this.forward(inp).emb;
  }

  /** Backward from d(emb); accumulates parameter gradients and releases `act`. */
  backward(act: TextActivations, dEmb: Tensor): void {
    const be = this.be, T = act.bert.seqLen, B = act.bert.batch, C = this.cfg.bert.hidden;
    act.rec.assertLive("TextEncoder.backward");
    try {
      const bertTrained = anyTrained(this.store, `${TEXT_PREFIX}.embeddings.`) ||
        anyTrained(this.store, `${TEXT_PREFIX}.encoder.`);
      const dHidden = be.tidy(() => {
        const dRaw = normalizeBackward(be, act.out, dEmb);
        const proj = linearRef(this.store, TEXT_PROJ);
        const dPooled = linearBackward(be, act.pooled, dRaw, proj.p, proj.g, bertTrained);
        return dPooled ? meanPoolBackward(be, dPooled, T).reshape([B * T, C]) : null;
      });
      if (dHidden) this.bert.backward(act.bert, dHidden);
    } finally {
      act.rec.release();
    }
  }

  setTrainMode(mode: TrainMode): void {
    this.store.setMode(this.prefix, mode);
  }
  mergeLora(): void {
    this.bert.mergeLora();
  }
  unmergeLora(): void {
    this.bert.unmergeLora();
  }
  get merged(): boolean {
    return this.bert.merged;
  }
}
