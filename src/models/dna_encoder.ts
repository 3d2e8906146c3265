/**
 * CLIBD DNA tower (spec §1.3): BarcodeBERT (HF BertForMaskedLM) whose MLM
 * decoder is replaced by a fresh Linear(hidden, outputDim). The embedding is
 *
 *   mean over ALL T positions of softmax(decoder(LN(GELU(dense(h_L)))))
 *
 * (a probability vector; no mask, token types zero), then L2-normalised.
 * `cls.predictions.bias` is a leftover parameter that is never used and never
 * gets a gradient.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { geluBackward } from "../ops/elementwise.ts";
import { matmulGelu } from "../ops/matmul.ts";
import { linearBackward, linearForward } from "../ops/linear.ts";
import { layerNorm, layerNormBackward } from "../ops/layernorm.ts";
import { softmax, softmaxBackward } from "../ops/softmax.ts";
import { meanPool, meanPoolBackward } from "../ops/pool.ts";
import type { DnaConfig } from "./config.ts";
import { addLayerNorm, addLinear, type Init, type ParamStore, type TrainMode } from "./params.ts";
import { anyTrained, layerNormRef, linearRef } from "./layers.ts";
import { ActivationRecord, releaseTensor } from "./record.ts";
import { Bert, type BertActivations, bertDropout } from "./bert.ts";
import {
  type ForwardOptions,
  normalizeBackward,
  normalizeOut,
  recordsActivations,
  type Tower,
  type TowerActivations,
  type TowerForward,
} from "./tower.ts";

/** Canonical prefix of the BertForMaskedLM module. */
export const DNA_PREFIX = "dna_encoder.base_dna_encoder";
const HEAD = `${DNA_PREFIX}.cls.predictions`;

/** Saved activations of a DNA forward. */
export interface DnaActivations extends TowerActivations {
  /** The backbone's activations. */
  bert: BertActivations;
  /** Last hidden state [B*T,C]. */
  hidden: Tensor;
  /** MLM transform pre-activation [B*T,C]. */
  pre: Tensor;
  /** GELU of `pre` [B*T,C]. */
  act: Tensor;
  /** The MLM transform's LayerNorm (output and per-row statistics). */
  ln: { y: Tensor; mean: Tensor; rstd: Tensor };
  /** Softmax over the decoder outputs [B*T,D] (mean-pooled into the embedding). */
  probs: Tensor;
}

/** The DNA tower. */
export class DnaEncoder implements Tower<Tensor, DnaActivations> {
  readonly kind = "dna" as const;
  readonly prefix = "dna_encoder.";
  /** The BarcodeBERT backbone. */
  readonly bert: Bert;
  /** The DNA tower over parameters registered in `store` (see {@link DnaEncoder.register}). */
  constructor(readonly be: Backend, readonly store: ParamStore, readonly cfg: DnaConfig) {
    this.bert = new Bert(be, store, cfg.bert, `${DNA_PREFIX}.bert`);
  }

  /** Registers BERT, the MLM transform, the new decoder and the unused `cls.predictions.bias`. */
  static register(s: ParamStore, init: Init, c: DnaConfig): void {
    Bert.register(s, init, c.bert, `${DNA_PREFIX}.bert`);
    const C = c.bert.hidden;
    s.add(`${HEAD}.bias`, [c.bert.vocabSize], "frozen", init.fill(c.bert.vocabSize, 0));
    addLinear(s, init, `${HEAD}.transform.dense`, C, C, "full");
    addLayerNorm(s, init, `${HEAD}.transform.LayerNorm`, C, "full");
    addLinear(s, init, `${HEAD}.decoder`, c.outputDim, C, "lora");
  }

  /** Token ids i32 [B,T] (leading 0, k-mer ids) -> embeddings [B,D]. */
  forward(ids: Tensor, opts: ForwardOptions = {}): TowerForward<DnaActivations> {
    const be = this.be, c = this.cfg, rec = recordsActivations(opts) ? new ActivationRecord(be) : null;
    const [B, T] = ids.shape;
    const { hidden, act: bert } = this.bert.forward({ inputIds: ids }, rec, bertDropout(c.bert, opts));
    return be.tidy(() => {
      const dense = linearRef(this.store, `${HEAD}.transform.dense`).p;
      const t = matmulGelu(be, hidden, dense.weight, { transB: true, bias: dense.bias });
      const lnr = layerNormRef(this.store, `${HEAD}.transform.LayerNorm`);
      const ln = layerNorm(be, t.out, lnr.gamma, lnr.beta, c.bert.lnEps);
      const logits = linearForward(be, ln.y, linearRef(this.store, `${HEAD}.decoder`).p);
      const probs = softmax(be, logits);
      const pooled = meanPool(be, probs.reshape([B, T, c.outputDim]));
      const out = normalizeOut(be, pooled, rec);
      if (!rec) {
        releaseTensor(be, hidden);
        return { emb: out.emb, act: null };
      }
      const saved = { hidden, pre: t.pre, act: t.out, ln, probs };
      rec.saveTree(saved);
      return { emb: out.emb, act: { rec, out, bert: bert!, ...saved } };
    });
  }

  /** Inference embedding [B,D], nothing kept. */
  embed(ids: Tensor): Tensor {
    return this.forward(ids).emb;
  }

  /** Backward from d(emb); accumulates parameter gradients and releases `act`. */
  backward(act: DnaActivations, dEmb: Tensor): void {
    const be = this.be, c = this.cfg, B = act.bert.batch, T = act.bert.seqLen;
    act.rec.assertLive("DnaEncoder.backward");
    try {
      const transformTrained = anyTrained(this.store, `${HEAD}.transform.`);
      const bertTrained = anyTrained(this.store, `${DNA_PREFIX}.bert.`);
      const dHidden = be.tidy(() => {
        const dPooled = normalizeBackward(be, act.out, dEmb);
        const dProbs = meanPoolBackward(be, dPooled, T).reshape([B * T, c.outputDim]);
        const dLogits = softmaxBackward(be, act.probs, dProbs);
        const dec = linearRef(this.store, `${HEAD}.decoder`);
        const dLn = linearBackward(be, act.ln.y, dLogits, dec.p, dec.g, transformTrained || bertTrained);
        if (!dLn) return null;
        const lnr = layerNormRef(this.store, `${HEAD}.transform.LayerNorm`);
        const dAct = layerNormBackward(be, dLn, act.act, lnr.gamma, act.ln.mean, act.ln.rstd, lnr.g);
        const dense = linearRef(this.store, `${HEAD}.transform.dense`);
        return linearBackward(be, act.hidden, geluBackward(be, act.pre, dAct), dense.p, dense.g, bertTrained);
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
