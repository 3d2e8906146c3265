/**
 * HF BERT encoder (post-norm), shared by the DNA tower (BarcodeBERT) and the
 * text tower (BERT-small), spec §1.3–1.4:
 *
 *   e = LN(word[ids] + pos[0..T) + type[typeIds])
 *   per layer: s1 = x + O(attention(Q x, K x, V x; key mask));  a = LN(s1)
 *              s2 = a + D2(GELU(D1 a));                          x' = LN(s2)
 *
 * with optional LoRA on Q and V (`W x + B A x`, scale 1). In training forwards with dropout p > 0 (HF's
 * hidden_dropout_prob = attention_probs_dropout_prob), inverted dropout is applied where HF BertModel
 * applies nn.Dropout: the embeddings' LayerNorm output, the attention probabilities, and the outputs of
 * the attention output dense and the FFN output dense (before their residual + LayerNorm). Masks are
 * regenerated from per-site seeds (src/ops/dropout.ts), so nothing extra is stored.
 * The word embedding has padding_idx 0: that row gets no gradient (spec §11).
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { add, axpy, geluBackward } from "../ops/elementwise.ts";
import { matmulGelu } from "../ops/matmul.ts";
import { linearBackward, linearForward, type LinearParams, mergeLora } from "../ops/linear.ts";
import { layerNorm, layerNormBackward } from "../ops/layernorm.ts";
import { attention, attentionBackward, type AttentionDropout } from "../ops/attention.ts";
import { dropout, dropoutBackward, dropoutHash } from "../ops/dropout.ts";
import { embedding, embeddingBackward } from "../ops/embedding.ts";
import { addBroadcast, sumBatch } from "../ops/tokens.ts";
import type { BertConfig } from "./config.ts";
import { addLayerNorm, addLinear, type Init, type ParamStore } from "./params.ts";
import { firstTrainedLayer, layerNormRef, type LinearRef, linearRef } from "./layers.ts";
import { type ActivationRecord, releaseTensor } from "./record.ts";
import type { ForwardOptions, LnSaved } from "./tower.ts";

/** HF's pad_token_id, the word embedding's padding_idx. */
export const PADDING_IDX = 0;

/** Dropout of one BERT forward (training only). */
export interface BertDropout {
  /** Drop probability in (0, 1). */
  p: number;
  /** Per-step seed; every site and layer derives its own mask seed from it (and the key prefix). */
  seed: number;
  /** Batch index of row 0 within the step's batch (masks depend on the global row). */
  rowOffset: number;
}

/** The dropout a tower forward with `opts` applies: null unless training with p > 0. */
export function bertDropout(c: BertConfig, opts: ForwardOptions): BertDropout | null {
  if (!opts.train || !(c.dropout > 0)) return null;
  return { p: c.dropout, seed: (opts.dropoutSeed ?? 0) >>> 0, rowOffset: opts.rowOffset ?? 0 };
}

/** Dropout sites of a BERT forward, for seed derivation. */
const enum Site {
  Embeddings = 0,
  AttentionProbs = 1,
  AttentionOutput = 2,
  FfnOutput = 3,
}

/** FNV-1a of a string, to separate the masks of towers with the same step seed. */
function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** What one layer's backward needs. */
export interface LayerAct {
  /** Layer input [B*T,C]. */
  x: Tensor;
  /** Queries [B,T,C]. */
  q: Tensor;
  /** Keys [B,T,C]. */
  k: Tensor;
  /** Values [B,T,C]. */
  v: Tensor;
  /** Attention output before the output projection [B*T,C]. */
  att: Tensor;
  /** Attention log-sum-exp per query row (for the attention backward). */
  lse: Tensor;
  /** First residual sum x + O(attention) [B*T,C] (input of LayerNorm 1). */
  s1: Tensor;
  /** LayerNorm 1 of `s1`. */
  ln1: LnSaved;
  /** Feed-forward pre-activation D1 a [B*T,intermediate]. */
  pre: Tensor;
  /** GELU of `pre` [B*T,intermediate]. */
  act: Tensor;
  /** Second residual sum a + D2(GELU(D1 a)) [B*T,C] (input of LayerNorm 2). */
  s2: Tensor;
  /** LayerNorm 2 of `s2` (the layer output). */
  ln2: LnSaved;
}

/** Activations of one BERT forward. Input tensors are borrowed: keep them alive until backward. */
export interface BertActivations {
  /** Owns every saved tensor. */
  rec: ActivationRecord;
  /** Batch size B. */
  batch: number;
  /** Sequence length T. */
  seqLen: number;
  /** Token ids, i32 [B,T] (borrowed). */
  ids: Tensor;
  /** Token type ids, i32 [B,T]. */
  typeIds: Tensor;
  /** Attention mask [B,T] (1 = attend), or undefined for none. */
  mask: Tensor | undefined;
  /** Sum of the three embeddings (LayerNorm input) and its statistics. */
  e: Tensor;
  /** The embeddings' LayerNorm. */
  ln0: LnSaved;
  /** Per-layer saved activations. */
  layers: LayerAct[];
  /** The forward's dropout (the backward regenerates its masks), or null. */
  drop: BertDropout | null;
}

/** Inputs of a BERT forward. */
export interface BertInputs {
  /** Token ids, i32 [B,T]. */
  inputIds: Tensor;
  /** Segment ids, i32 [B,T]; zeros when omitted. */
  tokenTypeIds?: Tensor;
  /** Key mask, f32 [B,T] (1 = attend, 0 = padding); all ones when omitted. */
  attentionMask?: Tensor;
}

/** A HF BertModel's encoder stack; parameters live in the shared store under `prefix`. */
export class Bert {
  /** True after {@link mergeLora}. */
  merged = false;
  private positionIds = new Map<number, Tensor>();
  /** A BERT backbone whose parameters live in `store` under `prefix` (see {@link Bert.register}). */
  constructor(
    readonly be: Backend,
    readonly store: ParamStore,
    readonly cfg: BertConfig,
    readonly prefix: string,
  ) {}

  /** Registers the embeddings and layers (PyTorch defaults; word row 0 zeroed like nn.Embedding(padding_idx=0)). */
  static register(s: ParamStore, init: Init, c: BertConfig, prefix: string): void {
    const C = c.hidden;
    const e = `${prefix}.embeddings`;
    s.add(
      `${e}.word_embeddings.weight`,
      [c.vocabSize, C],
      "full",
      init.normal(c.vocabSize * C, 1, PADDING_IDX, C),
    );
    s.add(`${e}.position_embeddings.weight`, [c.maxPositions, C], "full", init.normal(c.maxPositions * C, 1));
    s.add(
      `${e}.token_type_embeddings.weight`,
      [c.typeVocabSize, C],
      "full",
      init.normal(c.typeVocabSize * C, 1),
    );
    addLayerNorm(s, init, `${e}.LayerNorm`, C, "full");
    for (let i = 0; i < c.layers; i++) {
      const l = `${prefix}.encoder.layer.${i}`;
      for (const qkv of ["query", "key", "value"]) {
        const hasLora = c.loraRank !== null && qkv !== "key";
        // CLIBD's _LoRALayer stores the base Linear as `query.w.*`; canonical keys (src/io/keymap.ts)
        // unwrap it to `query.*` and keep the adapters as `query.w_a` / `query.w_b`.
        addLinear(s, init, `${l}.attention.self.${qkv}`, C, C, "full");
        if (hasLora) {
          const r = c.loraRank!;
          s.add(`${l}.attention.self.${qkv}.w_a.weight`, [r, C], "lora", init.kaiming(r * C, C));
          s.add(`${l}.attention.self.${qkv}.w_b.weight`, [C, r], "lora", init.fill(C * r, 0));
        }
      }
      addLinear(s, init, `${l}.attention.output.dense`, C, C, "full");
      addLayerNorm(s, init, `${l}.attention.output.LayerNorm`, C, "full");
      addLinear(s, init, `${l}.intermediate.dense`, c.intermediate, C, "full");
      addLinear(s, init, `${l}.output.dense`, C, c.intermediate, "full");
      addLayerNorm(s, init, `${l}.output.LayerNorm`, C, "full");
    }
  }

  /** Key prefix of layer `i`'s parameters. */
  private layerPrefix(i: number): string {
    return `${this.prefix}.encoder.layer.${i}.`;
  }

  /** Mask seed of one dropout site of layer `layer` (embeddings: layer 0). */
  private siteSeed(d: BertDropout, layer: number, site: Site): number {
    return dropoutHash((d.seed ^ strHash(this.prefix)) >>> 0, layer, site);
  }

  /** Hidden-state dropout of [B*T, C] rows (sequence length T) at one site, or x itself when off. */
  private dropHidden(x: Tensor, d: BertDropout | null, T: number, layer: number, site: Site): Tensor {
    if (!d) return x;
    return dropout(this.be, x, d.p, this.siteSeed(d, layer, site), { rowOffset: d.rowOffset * T });
  }

  /** Backward of {@link dropHidden}: dy itself when off. */
  private dropHiddenBackward(
    dy: Tensor,
    d: BertDropout | null,
    T: number,
    layer: number,
    site: Site,
  ): Tensor {
    if (!d) return dy;
    return dropoutBackward(this.be, dy, d.p, this.siteSeed(d, layer, site), { rowOffset: d.rowOffset * T });
  }

  /** Attention-probability dropout options of layer `i`. */
  private attnDropout(d: BertDropout | null, i: number): AttentionDropout | undefined {
    if (!d) return undefined;
    return { p: d.p, seed: this.siteSeed(d, i, Site.AttentionProbs), rowOffset: d.rowOffset };
  }

  /** Q, K or V of layer i, with its LoRA unless merged. */
  private qkv(i: number, which: "query" | "key" | "value"): LinearRef {
    const l = `${this.prefix}.encoder.layer.${i}.attention.self.${which}`;
    if (this.cfg.loraRank === null || which === "key") return linearRef(this.store, l);
    if (this.merged) return linearRef(this.store, l);
    return linearRef(this.store, l, { a: `${l}.w_a.weight`, b: `${l}.w_b.weight` });
  }

  /** Position ids 0..T-1, i32 [T], cached per length. */
  private posIds(T: number): Tensor {
    let t = this.positionIds.get(T);
    if (!t) {
      t = this.be.keep(this.be.tensor(Int32Array.from({ length: T }, (_, i) => i), [T], "i32"));
      this.positionIds.set(T, t);
    }
    return t;
  }

  /**
   * Last hidden state [B*T, C]; with `rec`, activations are saved for {@link backward}; with `drop`, the
   * training-mode dropout is applied (with or without `rec`).
   */
  forward(
    inp: BertInputs,
    rec: ActivationRecord | null,
    drop: BertDropout | null = null,
  ): { hidden: Tensor; act: BertActivations | null } {
    const be = this.be, c = this.cfg, C = c.hidden;
    const [B, T] = inp.inputIds.shape;
    if (inp.inputIds.shape.length !== 2 || inp.inputIds.dtype !== "i32") {
      throw new Error(
        `Bert.forward: inputIds must be i32 [B,T], got ${inp.inputIds.dtype} [${inp.inputIds.shape}]`,
      );
    }
    if (T > c.maxPositions) throw new Error(`Bert.forward: ${T} tokens > max positions ${c.maxPositions}`);
    if (inp.attentionMask && inp.attentionMask.dtype !== "f32") {
      throw new Error("Bert.forward: attentionMask must be f32 (1 = attend, 0 = padding)");
    }
    if (rec && this.merged) throw new Error("Bert.forward: LoRA is merged; unmerge before training");
    const N = B * T, mask = inp.attentionMask?.reshape([B, T]);
    const e = `${this.prefix}.embeddings`;
    let typeIds = inp.tokenTypeIds?.reshape([N]);
    if (!typeIds) {
      typeIds = be.zeros([N], "i32");
      if (rec) rec.save(typeIds);
    }
    const ids = inp.inputIds.reshape([N]);
    const types = typeIds;
    let ln0!: LnSaved, sum!: Tensor;
    let h = be.tidy(() => {
      const word = embedding(be, ids, this.store.get(`${e}.word_embeddings.weight`).value);
      const pos = embedding(be, this.posIds(T), this.store.get(`${e}.position_embeddings.weight`).value);
      const wp = addBroadcast(be, word.reshape([B, T, C]), pos).reshape([N, C]);
      sum = add(be, wp, embedding(be, types, this.store.get(`${e}.token_type_embeddings.weight`).value));
      const ln = layerNormRef(this.store, `${e}.LayerNorm`);
      ln0 = layerNorm(be, sum, ln.gamma, ln.beta, c.lnEps);
      if (rec) rec.saveTree({ sum, mean: ln0.mean, rstd: ln0.rstd });
      return this.dropHidden(ln0.y, drop, T, 0, Site.Embeddings);
    });
    const layers: LayerAct[] = [];
    for (let i = 0; i < c.layers; i++) {
      const x = h;
      h = be.tidy(() => {
        const { out, saved } = this.layerForward(i, x, B, T, mask, drop);
        if (rec) {
          rec.saveTree(saved);
          layers.push(saved);
        }
        return out;
      });
      if (!rec) releaseTensor(be, x);
    }
    if (!rec) {
      if (!inp.tokenTypeIds) releaseTensor(be, typeIds);
      return { hidden: h, act: null };
    }
    const act: BertActivations = { rec, batch: B, seqLen: T, ids, typeIds, mask, e: sum, ln0, layers, drop };
    return { hidden: h, act };
  }

  /** One encoder layer forward: x [B*T,C] -> layer output, with what its backward needs. */
  private layerForward(
    i: number,
    x: Tensor,
    B: number,
    T: number,
    mask: Tensor | undefined,
    drop: BertDropout | null,
  ): { out: Tensor; saved: LayerAct } {
    const be = this.be, c = this.cfg, C = c.hidden, N = B * T;
    const l = `${this.prefix}.encoder.layer.${i}`;
    const q = linearForward(be, x, this.qkv(i, "query").p).reshape([B, T, C]);
    const k = linearForward(be, x, this.qkv(i, "key").p).reshape([B, T, C]);
    const v = linearForward(be, x, this.qkv(i, "value").p).reshape([B, T, C]);
    const a = attention(be, q, k, v, { heads: c.heads, mask, dropout: this.attnDropout(drop, i) });
    const att = a.out.reshape([N, C]);
    const o = linearForward(be, att, linearRef(this.store, `${l}.attention.output.dense`).p);
    const s1 = add(be, this.dropHidden(o, drop, T, i, Site.AttentionOutput), x);
    const n1 = layerNormRef(this.store, `${l}.attention.output.LayerNorm`);
    const ln1 = layerNorm(be, s1, n1.gamma, n1.beta, c.lnEps);
    const d1 = linearRef(this.store, `${l}.intermediate.dense`).p;
    const m = matmulGelu(be, ln1.y, d1.weight, { transB: true, bias: d1.bias });
    const f = linearForward(be, m.out, linearRef(this.store, `${l}.output.dense`).p);
    const s2 = add(be, this.dropHidden(f, drop, T, i, Site.FfnOutput), ln1.y);
    const n2 = layerNormRef(this.store, `${l}.output.LayerNorm`);
    const ln2 = layerNorm(be, s2, n2.gamma, n2.beta, c.lnEps);
    const saved: LayerAct = { x, q, k, v, att, lse: a.lse, s1, ln1, pre: m.pre, act: m.out, s2, ln2 };
    return { out: ln2.y, saved };
  }

  /**
   * Backward from d(last hidden state) [B*T, C]: accumulates into every existing
   * gradient buffer, running only as far down as the lowest trained parameter.
   * `dHidden` is consumed (released).
   */
  backward(act: BertActivations, dHidden: Tensor): void {
    const be = this.be, c = this.cfg, C = c.hidden, B = act.batch, T = act.seqLen, N = B * T;
    const e = `${this.prefix}.embeddings`;
    const first = firstTrainedLayer(this.store, [`${e}.`], (i) => this.layerPrefix(i), c.layers);
    let dh: Tensor = dHidden;
    for (let i = c.layers - 1; i >= Math.max(first, 0); i--) {
      const dOut = dh;
      const needDx = i > first;
      const dx = be.tidy(() => this.layerBackward(i, act, dOut, B, T, needDx));
      releaseTensor(be, dOut);
      if (!dx) return;
      dh = dx;
    }
    if (first >= 0) {
      releaseTensor(be, dh);
      return;
    }
    be.tidy(() => {
      const ln = layerNormRef(this.store, `${e}.LayerNorm`);
      const dLn0 = this.dropHiddenBackward(dh, act.drop, T, 0, Site.Embeddings);
      const dSum = layerNormBackward(be, dLn0, act.e, ln.gamma, act.ln0.mean, act.ln0.rstd, ln.g);
      const gWord = this.store.get(`${e}.word_embeddings.weight`).grad;
      if (gWord) embeddingBackward(be, act.ids, dSum, gWord, PADDING_IDX);
      const gPos = this.store.get(`${e}.position_embeddings.weight`).grad;
      if (gPos) embeddingBackward(be, this.posIds(T), sumBatch(be, dSum.reshape([B, T, C])), gPos);
      const gType = this.store.get(`${e}.token_type_embeddings.weight`).grad;
      if (gType) embeddingBackward(be, act.typeIds, dSum.reshape([N, C]), gType);
    });
    releaseTensor(be, dh);
  }

  /** One encoder layer backward from d(layer output); accumulates its parameter gradients and returns d(x). */
  private layerBackward(
    i: number,
    act: BertActivations,
    dOut: Tensor,
    B: number,
    T: number,
    needDx: boolean,
  ): Tensor | null {
    const be = this.be, C = this.cfg.hidden, N = B * T;
    const l = `${this.prefix}.encoder.layer.${i}`;
    const s = act.layers[i], mask = act.mask, drop = act.drop;
    // x' = LN2(s2), s2 = ln1 + D2(GELU(D1 ln1))
    const n2 = layerNormRef(this.store, `${l}.output.LayerNorm`);
    const ds2 = layerNormBackward(be, dOut, s.s2, n2.gamma, s.ln2.mean, s.ln2.rstd, n2.g);
    const d2 = linearRef(this.store, `${l}.output.dense`),
      d1 = linearRef(this.store, `${l}.intermediate.dense`);
    const dF = this.dropHiddenBackward(ds2, drop, T, i, Site.FfnOutput);
    const dAct = linearBackward(be, s.act, dF, d2.p, d2.g, true)!;
    const dLn1 = linearBackward(be, s.ln1.y, geluBackward(be, s.pre, dAct), d1.p, d1.g, true)!;
    axpy(be, dLn1, ds2);
    // ln1 = LN1(s1), s1 = x + O(attention)
    const n1 = layerNormRef(this.store, `${l}.attention.output.LayerNorm`);
    const ds1 = layerNormBackward(be, dLn1, s.s1, n1.gamma, s.ln1.mean, s.ln1.rstd, n1.g);
    const o = linearRef(this.store, `${l}.attention.output.dense`);
    const dO = this.dropHiddenBackward(ds1, drop, T, i, Site.AttentionOutput);
    const dAtt = linearBackward(be, s.att, dO, o.p, o.g, true)!;
    const { dq, dk, dv } = attentionBackward(
      be,
      dAtt.reshape([B, T, C]),
      s.q,
      s.k,
      s.v,
      s.att.reshape([B, T, C]),
      s.lse,
      { heads: this.cfg.heads, mask, dropout: this.attnDropout(drop, i) },
    );
    let dx: Tensor | null = null;
    for (const [which, d] of [["query", dq], ["key", dk], ["value", dv]] as const) {
      const r = this.qkv(i, which);
      const part = linearBackward(be, s.x, d.reshape([N, C]), r.p, r.g, needDx);
      if (part && dx) axpy(be, dx, part);
      else if (part) dx = part;
    }
    if (!dx) return null;
    axpy(be, dx, ds1);
    return dx;
  }

  /** W += B A on every LoRA-wrapped query/value, for inference. */
  mergeLora(): void {
    if (this.merged || this.cfg.loraRank === null) return;
    this.eachLora((p) => mergeLora(this.be, p));
    this.merged = true;
  }

  /** Undoes {@link mergeLora}. */
  unmergeLora(): void {
    if (!this.merged) return;
    // W -= B A, written as a merge with scale -1 so only the contract's mergeLora is needed.
    this.eachLora((p) => mergeLora(this.be, { ...p, loraScale: -1 }));
    this.merged = false;
  }

  /** Calls `fn` with every LoRA-adapted linear (query and value of every layer). */
  private eachLora(fn: (p: LinearParams) => void): void {
    for (let i = 0; i < this.cfg.layers; i++) {
      for (const which of ["query", "value"] as const) {
        const l = `${this.prefix}.encoder.layer.${i}.attention.self.${which}`;
        fn(linearRef(this.store, l, { a: `${l}.w_a.weight`, b: `${l}.w_b.weight` }).p);
      }
    }
  }

  /** Frees cached helper tensors (position ids). */
  release(): void {
    for (const t of this.positionIds.values()) this.be.release(t);
    this.positionIds.clear();
  }
}
