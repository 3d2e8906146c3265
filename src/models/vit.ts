/**
 * timm ViT backbone as used by CLIBD (spec §1.2, §2): patch conv (im2col +
 * matmul), CLS token prepended, learned position embedding, pre-norm blocks
 * with a fused qkv Linear that carries rank-r LoRA on its q and v slices,
 * final LayerNorm, CLS token out. Forward saves what the backward needs in an
 * {@link ActivationRecord}; the backward accumulates parameter gradients.
 *
 * The final LayerNorm is applied to the CLS row only: LayerNorm is per token, so
 * this equals timm's `norm(x)[:, 0]` and skips T-1 rows of work.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { add, axpy, geluBackward } from "../ops/elementwise.ts";
import { matmul, matmulGelu } from "../ops/matmul.ts";
import { linearBackward, linearForward } from "../ops/linear.ts";
import { layerNorm, layerNormBackward } from "../ops/layernorm.ts";
import { attention, attentionBackward } from "../ops/attention.ts";
import { im2col } from "../ops/patch.ts";
import {
  addBroadcast,
  copyColumns,
  prependToken,
  prependTokenBackward,
  selectToken,
  selectTokenBackward,
  sliceColumns,
  sumBatch,
} from "../ops/tokens.ts";
import { type VitConfig, vitTokens } from "./config.ts";
import { addLayerNorm, addLinear, gradOf, type Init, type Param, type ParamStore } from "./params.ts";
import { firstTrainedLayer, layerNormRef, type LinearRef, linearRef } from "./layers.ts";
import { type ActivationRecord, releaseTensor } from "./record.ts";
import type { LnSaved } from "./tower.ts";
import { col2im } from "./extra_ops.ts";

/** What one block's backward needs. */
export interface BlockAct {
  /** Block input [B*T,C]. */
  x: Tensor;
  /** LayerNorm 1 of `x`. */
  ln1: LnSaved;
  /** LoRA down-projection A_q ln1 of the queries, or null when LoRA is merged. */
  uq: Tensor | null;
  /** LoRA down-projection A_v ln1 of the values, or null when LoRA is merged. */
  uv: Tensor | null;
  /** Queries [B,T,C]. */
  q: Tensor;
  /** Keys [B,T,C]. */
  k: Tensor;
  /** Values [B,T,C]. */
  v: Tensor;
  /** Attention output before the projection [B*T,C]. */
  att: Tensor;
  /** Attention log-sum-exp per query row (for the attention backward). */
  lse: Tensor;
  /** Residual sum x + proj(attention) [B*T,C]. */
  h1: Tensor;
  /** LayerNorm 2 of `h1`. */
  ln2: LnSaved;
  /** MLP pre-activation fc1 [B*T,mlp]. */
  pre: Tensor;
  /** GELU of `pre` [B*T,mlp]. */
  act: Tensor;
}

/** Activations of one ViT forward. */
export interface VitActivations {
  /** Owns every saved tensor. */
  rec: ActivationRecord;
  /** Batch size B. */
  batch: number;
  /** im2col patches [B*P, 3*patch*patch]. */
  cols: Tensor;
  /** Per-block saved activations. */
  blocks: BlockAct[];
  /** Pre-norm CLS rows [B,C]. */
  cls: Tensor;
  /** The final LayerNorm of the CLS rows. */
  lnf: LnSaved;
}

/** The ViT backbone of the image tower; parameters live in the shared store under `prefix`. */
export class Vit {
  /** True after {@link mergeLora}: the LoRA path is skipped and training is refused. */
  merged = false;
  /** A timm ViT whose parameters live in `store` under `prefix` (see {@link Vit.register}). */
  constructor(
    readonly be: Backend,
    readonly store: ParamStore,
    readonly cfg: VitConfig,
    readonly prefix: string,
  ) {}

  /** Registers every backbone parameter with PyTorch/timm default initialisation. */
  static register(s: ParamStore, init: Init, c: VitConfig, prefix: string): void {
    const C = c.hidden, T = vitTokens(c), pp = 3 * c.patchSize * c.patchSize, r = c.loraRank;
    // timm: cls_token N(0, 1e-6), pos_embed trunc_normal(0.02); conv uses the Linear rule (fan_in 3 p p).
    s.add(`${prefix}.cls_token`, [1, 1, C], "full", init.normal(C, 1e-6));
    s.add(`${prefix}.pos_embed`, [1, T, C], "full", init.normal(T * C, 0.02));
    s.add(
      `${prefix}.patch_embed.proj.weight`,
      [C, 3, c.patchSize, c.patchSize],
      "full",
      init.kaiming(C * pp, pp),
    );
    s.add(`${prefix}.patch_embed.proj.bias`, [C], "full", init.kaiming(C, pp));
    for (let i = 0; i < c.layers; i++) {
      const b = `${prefix}.blocks.${i}`;
      addLayerNorm(s, init, `${b}.norm1`, C, "full");
      addLinear(s, init, `${b}.attn.qkv.qkv`, 3 * C, C, "full");
      // LoRA (spec §2): A kaiming_uniform(a=sqrt 5), B zeros; trained in both full and LoRA mode.
      s.add(`${b}.attn.qkv.linear_a_q.weight`, [r, C], "lora", init.kaiming(r * C, C));
      s.add(`${b}.attn.qkv.linear_b_q.weight`, [C, r], "lora", init.fill(C * r, 0));
      s.add(`${b}.attn.qkv.linear_a_v.weight`, [r, C], "lora", init.kaiming(r * C, C));
      s.add(`${b}.attn.qkv.linear_b_v.weight`, [C, r], "lora", init.fill(C * r, 0));
      addLinear(s, init, `${b}.attn.proj`, C, C, "full");
      addLayerNorm(s, init, `${b}.norm2`, C, "full");
      addLinear(s, init, `${b}.mlp.fc1`, c.mlp, C, "full");
      addLinear(s, init, `${b}.mlp.fc2`, C, c.mlp, "full");
    }
    addLayerNorm(s, init, `${prefix}.norm`, C, "full");
  }

  /** The linear layer `name` (under this model's prefix). */
  private lin(name: string): LinearRef {
    return linearRef(this.store, `${this.prefix}.${name}`);
  }
  /** The parameter `name` (under this model's prefix). */
  private p(name: string): Param {
    return this.store.get(`${this.prefix}.${name}`);
  }

  /**
   * Images [B,3,H,W] (values as fed to timm, CLIBD: [0,1], no normalisation) ->
   * final-LayerNorm CLS features [B,C]. With `rec`, activations are saved for {@link backward}.
   */
  forward(images: Tensor, rec: ActivationRecord | null): { feat: Tensor; act: VitActivations | null } {
    const be = this.be, c = this.cfg, C = c.hidden, T = vitTokens(c), P = T - 1;
    const B = images.shape[0];
    if (
      images.shape.length !== 4 || images.shape[1] !== 3 || images.shape[2] !== c.imageSize ||
      images.shape[3] !== c.imageSize
    ) {
      throw new Error(
        `Vit.forward: images have shape [${images.shape}], expected [B,3,${c.imageSize},${c.imageSize}]`,
      );
    }
    if (rec && this.merged) throw new Error("Vit.forward: LoRA is merged; unmerge before training");
    const save = <X extends Tensor>(t: X): X => rec ? rec.save(t) : t;
    const N = B * T;
    const blocks: BlockAct[] = [];
    let cols: Tensor | null = null;
    let h = be.tidy(() => {
      const cl = im2col(be, images, c.patchSize);
      if (rec) cols = save(cl);
      const pw = this.p("patch_embed.proj.weight").value.reshape([C, 3 * c.patchSize * c.patchSize]);
      const pe = linearForward(be, cl, { weight: pw, bias: this.p("patch_embed.proj.bias").value });
      const withCls = prependToken(be, this.p("cls_token").value.reshape([C]), pe.reshape([B, P, C]));
      return addBroadcast(be, withCls, this.p("pos_embed").value.reshape([T, C])).reshape([N, C]);
    });
    for (let i = 0; i < c.layers; i++) {
      const x = h;
      h = be.tidy(() => {
        const { out, saved } = this.blockForward(i, x, B);
        if (rec) {
          rec.saveTree(saved);
          blocks.push(saved);
        }
        return out;
      });
      if (!rec) releaseTensor(be, x);
    }
    const res = be.tidy(() => {
      const cls = selectToken(be, h.reshape([B, T, C]), 0);
      const ln = layerNormRef(this.store, `${this.prefix}.norm`);
      const lnf = layerNorm(be, cls, ln.gamma, ln.beta, c.lnEps);
      if (!rec) return { feat: lnf.y, act: null };
      const act: VitActivations = { rec, batch: B, cols: cols!, blocks, cls: save(cls), lnf };
      save(lnf.mean);
      save(lnf.rstd);
      return { feat: lnf.y, act };
    });
    releaseTensor(be, h);
    return res;
  }

  /** One pre-norm block: x [N,C] -> x + attn(ln1 x) -> + mlp(ln2 .); returns what the backward needs. */
  private blockForward(i: number, x: Tensor, B: number): { out: Tensor; saved: BlockAct } {
    const be = this.be, c = this.cfg, C = c.hidden, T = vitTokens(c);
    const b = `blocks.${i}`;
    const ln1r = layerNormRef(this.store, `${this.prefix}.${b}.norm1`);
    const ln1 = layerNorm(be, x, ln1r.gamma, ln1r.beta, c.lnEps);
    const qkv = linearForward(be, ln1.y, this.lin(`${b}.attn.qkv.qkv`).p);
    let uq: Tensor | null = null, uv: Tensor | null = null;
    if (!this.merged) {
      // qkv[:, 0:C] += B_q A_q x and qkv[:, 2C:3C] += B_v A_v x (timm _LoRA_qkv_timm).
      const lora = (which: "q" | "v", col: number): Tensor => {
        const u = linearForward(be, ln1.y, {
          weight: this.p(`${b}.attn.qkv.linear_a_${which}.weight`).value,
        });
        const d = linearForward(be, u, { weight: this.p(`${b}.attn.qkv.linear_b_${which}.weight`).value });
        copyColumns(be, d, qkv, col, true);
        return u;
      };
      uq = lora("q", 0);
      uv = lora("v", 2 * C);
    }
    const q = sliceColumns(be, qkv, 0, C).reshape([B, T, C]);
    const k = sliceColumns(be, qkv, C, C).reshape([B, T, C]);
    const v = sliceColumns(be, qkv, 2 * C, C).reshape([B, T, C]);
    const a = attention(be, q, k, v, { heads: c.heads });
    const att = a.out.reshape([B * T, C]);
    const h1 = add(be, x, linearForward(be, att, this.lin(`${b}.attn.proj`).p));
    const ln2r = layerNormRef(this.store, `${this.prefix}.${b}.norm2`);
    const ln2 = layerNorm(be, h1, ln2r.gamma, ln2r.beta, c.lnEps);
    const fc1 = this.lin(`${b}.mlp.fc1`).p;
    const m = matmulGelu(be, ln2.y, fc1.weight, { transB: true, bias: fc1.bias });
    const out = add(be, h1, linearForward(be, m.out, this.lin(`${b}.mlp.fc2`).p));
    return {
      out,
      saved: { x, ln1, uq, uv, q, k, v, att, lse: a.lse, h1, ln2, pre: m.pre, act: m.out },
    };
  }

  /**
   * Backward from d(features) [B,C]. Accumulates into every parameter gradient
   * buffer that exists; returns d(images) when `inputGrad`, else null.
   */
  backward(act: VitActivations, dFeat: Tensor, inputGrad: boolean): Tensor | null {
    const be = this.be, c = this.cfg, C = c.hidden, T = vitTokens(c), P = T - 1, B = act.batch;
    const ln = layerNormRef(this.store, `${this.prefix}.norm`);
    // Run only as far down as the lowest trained parameter (all the way for d(images)).
    const embPrefixes = ["cls_token", "pos_embed", "patch_embed."].map((n) => `${this.prefix}.${n}`);
    const first = inputGrad
      ? -1
      : firstTrainedLayer(this.store, embPrefixes, (i) => `${this.prefix}.blocks.${i}.`, c.layers);
    if (first === c.layers && !ln.trained) return null;
    let dh = be.tidy(() => {
      const dcls = layerNormBackward(be, dFeat, act.cls, ln.gamma, act.lnf.mean, act.lnf.rstd, ln.g);
      return selectTokenBackward(be, dcls, T, 0).reshape([B * T, C]);
    });
    for (let i = c.layers - 1; i >= Math.max(first, 0); i--) {
      const dOut = dh;
      const needDx = i > first;
      const dx = be.tidy(() => this.blockBackward(i, act.blocks[i], dOut, B, needDx));
      releaseTensor(be, dOut);
      if (!dx) return null;
      dh = dx;
    }
    if (first >= 0) {
      releaseTensor(be, dh);
      return null;
    }
    const dImages = be.tidy(() => {
      const d3 = dh.reshape([B, T, C]);
      const gPos = this.p("pos_embed").grad;
      if (gPos) axpy(be, gPos, sumBatch(be, d3));
      const { dTok, dx } = prependTokenBackward(be, d3);
      const gCls = this.p("cls_token").grad;
      if (gCls) axpy(be, gCls, dTok);
      const w = this.p("patch_embed.proj.weight"), bias = this.p("patch_embed.proj.bias");
      const pp = 3 * c.patchSize * c.patchSize;
      const dcols = linearBackward(
        be,
        act.cols,
        dx.reshape([B * P, C]),
        { weight: w.value.reshape([C, pp]), bias: bias.value },
        { weight: w.grad?.reshape([C, pp]), bias: gradOf(bias) },
        inputGrad,
      );
      return dcols ? col2im(be, dcols, B, c.imageSize, c.patchSize) : null;
    });
    releaseTensor(be, dh);
    return dImages;
  }

  /** One block's backward: d(block output) [N,C] -> d(block input) (null when not needed). */
  private blockBackward(i: number, s: BlockAct, dOut: Tensor, B: number, needDx: boolean): Tensor | null {
    const be = this.be, C = this.cfg.hidden, T = vitTokens(this.cfg), N = B * T;
    const b = `blocks.${i}`;
    // out = h1 + fc2(gelu(fc1(ln2(h1))))
    const fc1 = this.lin(`${b}.mlp.fc1`), fc2 = this.lin(`${b}.mlp.fc2`);
    const dAct = linearBackward(be, s.act, dOut, fc2.p, fc2.g, true)!;
    const dPre = geluBackward(be, s.pre, dAct);
    const dLn2 = linearBackward(be, s.ln2.y, dPre, fc1.p, fc1.g, true)!;
    const ln2 = layerNormRef(this.store, `${this.prefix}.${b}.norm2`);
    const dh1 = layerNormBackward(be, dLn2, s.h1, ln2.gamma, s.ln2.mean, s.ln2.rstd, ln2.g);
    axpy(be, dh1, dOut);
    // h1 = x + proj(attention(q, k, v))
    const proj = this.lin(`${b}.attn.proj`);
    const dAtt = linearBackward(be, s.att, dh1, proj.p, proj.g, true)!;
    const { dq, dk, dv } = attentionBackward(
      be,
      dAtt.reshape([B, T, C]),
      s.q,
      s.k,
      s.v,
      s.att.reshape([B, T, C]),
      s.lse,
      { heads: this.cfg.heads },
    );
    const dq2 = dq.reshape([N, C]), dv2 = dv.reshape([N, C]);
    const dqkv = be.empty([N, 3 * C]);
    copyColumns(be, dq2, dqkv, 0);
    copyColumns(be, dk.reshape([N, C]), dqkv, C);
    copyColumns(be, dv2, dqkv, 2 * C);
    const ln1 = layerNormRef(this.store, `${this.prefix}.${b}.norm1`);
    const wantDLn1 = needDx || ln1.trained;
    const qkv = this.lin(`${b}.attn.qkv.qkv`);
    const dLn1 = linearBackward(be, s.ln1.y, dqkv, qkv.p, qkv.g, wantDLn1);
    // LoRA: the q slice's gradient flows through B_q then A_q (same for v).
    for (const [which, u, d] of [["q", s.uq!, dq2], ["v", s.uv!, dv2]] as const) {
      const A = this.p(`${b}.attn.qkv.linear_a_${which}.weight`);
      const Bm = this.p(`${b}.attn.qkv.linear_b_${which}.weight`);
      const du = linearBackward(
        be,
        u,
        d,
        { weight: Bm.value },
        { weight: gradOf(Bm) },
        wantDLn1 || A.grad !== null,
      );
      if (!du) continue;
      const dx = linearBackward(be, s.ln1.y, du, { weight: A.value }, { weight: gradOf(A) }, wantDLn1);
      if (dx) axpy(be, dLn1!, dx);
    }
    if (!wantDLn1) return null;
    const dx = layerNormBackward(be, dLn1!, s.x, ln1.gamma, s.ln1.mean, s.ln1.rstd, ln1.g);
    if (!needDx) return null;
    axpy(be, dx, dh1);
    return dx;
  }

  /** W_qkv[q rows] += B_q A_q and W_qkv[v rows] += B_v A_v, for inference (spec §2). */
  mergeLora(): void {
    if (this.merged) return;
    this.applyLora(1);
    this.merged = true;
  }

  /** Undoes {@link mergeLora} (exact up to f32 rounding). */
  unmergeLora(): void {
    if (!this.merged) return;
    this.applyLora(-1);
    this.merged = false;
  }

  /** Adds (sign 1) or subtracts (sign -1) the LoRA updates B A of the q and v projections to the qkv weights. */
  private applyLora(sign: 1 | -1): void {
    const be = this.be, C = this.cfg.hidden;
    for (let i = 0; i < this.cfg.layers; i++) {
      const b = `blocks.${i}.attn.qkv`;
      const w = this.p(`${b}.qkv.weight`).value.reshape([1, 3 * C * C]);
      be.tidy(() => {
        for (const [which, row] of [["q", 0], ["v", 2 * C]] as const) {
          const delta = matmul(
            be,
            this.p(`${b}.linear_b_${which}.weight`).value,
            this.p(`${b}.linear_a_${which}.weight`).value,
            {
              alpha: sign,
            },
          );
          // Rows row..row+C of W [3C, C] are one contiguous run of C*C values.
          copyColumns(be, delta.reshape([1, C * C]), w, row * C, true);
        }
      });
    }
  }
}
