/**
 * CLIBD image tower (spec §1.2): timm ViT -> CLS features -> `head` Linear to the
 * shared space -> L2 normalisation. The head is CLIBD's fresh nn.Linear, so it is
 * trained in LoRA mode too.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { linearBackward, linearForward } from "../ops/linear.ts";
import type { VitConfig } from "./config.ts";
import { addLinear, type Init, type ParamStore, type TrainMode } from "./params.ts";
import { linearRef } from "./layers.ts";
import { ActivationRecord, releaseTensor } from "./record.ts";
import { Vit, type VitActivations } from "./vit.ts";
import {
  type ForwardOptions,
  normalizeBackward,
  normalizeOut,
  type NormSaved,
  recordsActivations,
  type Tower,
  type TowerActivations,
  type TowerForward,
} from "./tower.ts";

/** Canonical prefix of the ViT parameters. */
export const IMAGE_PREFIX = "image_encoder.base_image_encoder";

/** Saved activations of an image forward. */
export interface ImageActivations extends TowerActivations {
  /** The backbone's activations. */
  vit: VitActivations;
  /** Final-norm CLS features [B,C] (the head's input). */
  feat: Tensor;
}

/** Options of {@link ImageEncoder.backward}. */
export interface ImageBackwardOptions {
  /** Also return d(loss)/d(images) [B,3,H,W] (tests, saliency). */
  inputGrad?: boolean;
}

/** The image tower. */
export class ImageEncoder implements Tower<Tensor, ImageActivations> {
  readonly kind = "image" as const;
  readonly prefix = "image_encoder.";
  /** The ViT backbone. */
  readonly vit: Vit;
  /** The image tower over parameters registered in `store` (see {@link ImageEncoder.register}). */
  constructor(readonly be: Backend, readonly store: ParamStore, readonly cfg: VitConfig) {
    this.vit = new Vit(be, store, cfg, IMAGE_PREFIX);
  }

  /** Registers the ViT and its head. */
  static register(s: ParamStore, init: Init, c: VitConfig): void {
    Vit.register(s, init, c, IMAGE_PREFIX);
    addLinear(s, init, `${IMAGE_PREFIX}.head`, c.outputDim, c.hidden, "lora");
  }

  /** Images [B,3,H,W] in [0,1] (CLIBD applies no pixel normalisation) -> embeddings [B,D]. */
  forward(images: Tensor, opts: ForwardOptions = {}): TowerForward<ImageActivations> {
    // The ViT has no dropout (CLIBD's timm ViT: drop rates 0; validateConfig rejects image dropout).
    const be = this.be, rec = recordsActivations(opts) ? new ActivationRecord(be) : null;
    const { feat, act } = this.vit.forward(images, rec);
    return be.tidy(() => {
      const raw = linearForward(be, feat, linearRef(this.store, `${IMAGE_PREFIX}.head`).p);
      const out: NormSaved = normalizeOut(be, raw, rec);
      if (!rec) {
        releaseTensor(be, feat);
        return { emb: out.emb, act: null };
      }
      rec.save(feat);
      return { emb: out.emb, act: { rec, out, vit: act!, feat } };
    });
  }

  /** Inference embedding [B,D], nothing kept. */
  embed(images: Tensor): Tensor {
    return this.forward(images).emb;
  }

  /** Backward from d(emb); returns d(images) with `inputGrad`, else null. Releases `act`. */
  backward(act: ImageActivations, dEmb: Tensor, opts: ImageBackwardOptions = {}): Tensor | null {
    const be = this.be;
    act.rec.assertLive("ImageEncoder.backward");
    try {
      const head = linearRef(this.store, `${IMAGE_PREFIX}.head`);
      const dFeat = be.tidy(() => {
        const dRaw = normalizeBackward(be, act.out, dEmb);
        return linearBackward(be, act.feat, dRaw, head.p, head.g, true);
      })!;
      const dImages = this.vit.backward(act.vit, dFeat, !!opts.inputGrad);
      releaseTensor(be, dFeat);
      return dImages;
    } finally {
      act.rec.release();
    }
  }

  setTrainMode(mode: TrainMode): void {
    this.store.setMode(this.prefix, mode);
  }
  mergeLora(): void {
    this.vit.mergeLora();
  }
  unmergeLora(): void {
    this.vit.unmergeLora();
  }
  get merged(): boolean {
    return this.vit.merged;
  }
}
