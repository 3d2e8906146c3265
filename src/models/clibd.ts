/**
 * The CLIBD model (SimpleCLIP, spec §1.1): any subset of the image, DNA and
 * text towers, each ending in an L2-normalised embedding in one shared space,
 * plus the learnable log-scale `logit_scale` (init log(1/0.07), no clamp).
 * All parameters live in one {@link ParamStore} under canonical checkpoint keys.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { StateDict } from "../io/host_tensor.ts";
import { type ClibdConfig, validateConfig } from "./config.ts";
import { Init, type LoadOptions, type LoadReport, type Param, ParamStore, type TrainMode } from "./params.ts";
import { ImageEncoder } from "./image_encoder.ts";
import { DnaEncoder } from "./dna_encoder.ts";
import { TextEncoder } from "./text_encoder.ts";
import type { BertInputs } from "./bert.ts";

/** Training mode per tower; `logitScale` says whether the temperature is learned. */
export interface TrainModes {
  /** Training mode of the image tower. */
  image?: TrainMode;
  /** Training mode of the DNA tower. */
  dna?: TrainMode;
  /** Training mode of the text tower. */
  text?: TrainMode;
  /** Learn logit_scale (default: true when any tower is trained; CLIBD's `fix_temperature: false`). */
  logitScale?: boolean;
}

/** Options of {@link createClibdModel}. */
export interface CreateOptions {
  /** Seed of the PyTorch-default initialisation (default 0). */
  seed?: number;
}

/** A CLIBD model on one backend. */
export class ClibdModel {
  /** Every parameter by canonical key. */
  readonly store: ParamStore;
  /** The image tower, or null when the config has none. */
  readonly image: ImageEncoder | null;
  /** The DNA tower, or null when the config has none. */
  readonly dna: DnaEncoder | null;
  /** The text tower, or null when the config has none. */
  readonly text: TextEncoder | null;

  /** Creates the towers the config names and registers their parameters, initialised from `opts.seed`. */
  constructor(readonly be: Backend, readonly config: ClibdConfig, opts: CreateOptions = {}) {
    validateConfig(config);
    const s = this.store = new ParamStore(be);
    const init = new Init(opts.seed ?? 0);
    // nn.Module.state_dict lists a module's own parameters before its children's.
    s.add("logit_scale", [], "lora", init.fill(1, config.logitScaleInit));
    if (config.image) ImageEncoder.register(s, init, config.image);
    if (config.dna) DnaEncoder.register(s, init, config.dna);
    if (config.text) TextEncoder.register(s, init, config.text);
    this.image = config.image ? new ImageEncoder(be, s, config.image) : null;
    this.dna = config.dna ? new DnaEncoder(be, s, config.dna) : null;
    this.text = config.text ? new TextEncoder(be, s, config.text) : null;
  }

  /** The log-scale parameter ([1] tensor; the similarity scale is exp of it). */
  get logitScale(): Param {
    return this.store.get("logit_scale");
  }

  /** The towers that exist. */
  towers(): (ImageEncoder | DnaEncoder | TextEncoder)[] {
    return [this.image, this.dna, this.text].filter((t) => t !== null);
  }

  /**
   * Sets which parameters get gradient buffers. A tower left out keeps its mode;
   * a new model starts fully frozen (inference).
   */
  setTrainMode(modes: TrainModes): void {
    if (modes.image) this.requireTower(this.image, "image").setTrainMode(modes.image);
    if (modes.dna) this.requireTower(this.dna, "dna").setTrainMode(modes.dna);
    if (modes.text) this.requireTower(this.text, "text").setTrainMode(modes.text);
    const anyTrained = this.store.trainable().some((p) => p.name !== "logit_scale");
    this.store.setMode("logit_scale", (modes.logitScale ?? anyTrained) ? "full" : "frozen");
  }

  /** Returns tower `t`, or throws naming the missing tower. */
  private requireTower<T>(t: T | null, name: string): T {
    if (!t) throw new Error(`ClibdModel: this model has no ${name} tower`);
    return t;
  }

  /** L2-normalised image embeddings [B,D] from images [B,3,H,W] in [0,1]. */
  embedImages(images: Tensor): Tensor {
    return this.requireTower(this.image, "image").embed(images);
  }

  /** L2-normalised DNA embeddings [B,D] from token ids i32 [B,T]. */
  embedDna(ids: Tensor): Tensor {
    return this.requireTower(this.dna, "dna").embed(ids);
  }

  /** L2-normalised text embeddings [B,D] from tokenizer output (mask f32). */
  embedText(inp: BertInputs): Tensor {
    return this.requireTower(this.text, "text").embed(inp);
  }

  /** Loads canonical keys (see src/io/keymap.ts); every shape is checked, naming the key. */
  loadStateDict(sd: StateDict, opts?: LoadOptions): LoadReport {
    if (this.towers().some((t) => t.merged)) {
      throw new Error("loadStateDict: LoRA is merged; unmergeLora() first");
    }
    return this.store.loadStateDict(sd, opts);
  }

  /** The parameters as a canonical f32 state dict (LoRA unmerged, like PyTorch's). */
  async stateDict(): Promise<StateDict> {
    const merged = this.towers().filter((t) => t.merged);
    for (const t of merged) t.unmergeLora();
    try {
      return await this.store.stateDict();
    } finally {
      for (const t of merged) t.mergeLora();
    }
  }

  /** Zeroes every gradient buffer. */
  zeroGrad(): void {
    this.store.zeroGrad();
  }

  /** Folds every LoRA into its base weight (inference only; training forwards are refused). */
  mergeLora(): void {
    for (const t of this.towers()) t.mergeLora();
  }

  /** Undoes {@link mergeLora}. */
  unmergeLora(): void {
    for (const t of this.towers()) t.unmergeLora();
  }

  /** Frees all parameter and gradient buffers. */
  release(): void {
    this.dna?.bert.release();
    this.text?.bert.release();
    this.store.release();
  }
}

/** Builds a CLIBD model with PyTorch-default initialisation (load a checkpoint with loadStateDict). */
export function createClibdModel(be: Backend, config: ClibdConfig, opts: CreateOptions = {}): ClibdModel {
  return new ClibdModel(be, config, opts);
}
