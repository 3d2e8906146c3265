/**
 * AdamW over a model's trainable parameters, as torch.optim.AdamW with CLIBD's one
 * parameter group (betas 0.9/0.999, eps 1e-8, weight decay 0.01 on everything,
 * logit_scale included). Like PyTorch, a parameter without a gradient buffer is
 * not touched at all (not even by weight decay); a parameter whose gradient is
 * zero (BERT's padding_idx row) still decays.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import { adamw } from "../ops/adamw.ts";
import type { Param } from "../models/params.ts";

/** AdamW hyper-parameters (PyTorch defaults except weight decay, which both use 0.01). */
export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** PyTorch's AdamW defaults (CLIBD passes only lr). */
export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/** Optimiser state: first and second moments per parameter name, and the step count. */
export class AdamW {
  readonly m: Map<string, Tensor> = new Map();
  readonly v: Map<string, Tensor> = new Map();
  /** Steps taken (PyTorch keeps one per parameter; ours move together). */
  step = 0;
  constructor(readonly be: Backend, readonly cfg: AdamWConfig = ADAMW_DEFAULTS) {}

  /** One update of every parameter that has a gradient buffer, at learning rate `lr`. */
  update(params: readonly Param[], lr: number): void {
    this.step++;
    for (const p of params) {
      if (!p.grad) continue;
      let m = this.m.get(p.name), v = this.v.get(p.name);
      if (!m || !v) {
        m = this.be.keep(this.be.zeros(p.value.shape));
        v = this.be.keep(this.be.zeros(p.value.shape));
        this.m.set(p.name, m);
        this.v.set(p.name, v);
      }
      adamw(this.be, p.value, p.grad, m, v, {
        lr,
        step: this.step,
        beta1: this.cfg.beta1,
        beta2: this.cfg.beta2,
        eps: this.cfg.eps,
        weightDecay: this.cfg.weightDecay,
      });
    }
  }

  /** Restores moments (from a checkpoint) for the named parameters. */
  load(
    step: number,
    moments: Map<string, { m: Float32Array; v: Float32Array }>,
    params: readonly Param[],
  ): void {
    this.step = step;
    for (const p of params) {
      const mv = moments.get(p.name);
      if (!mv || !p.grad) continue;
      if (mv.m.length !== p.value.size || mv.v.length !== p.value.size) {
        throw new Error(`optimizer state for ${p.name} has ${mv.m.length} values, expected ${p.value.size}`);
      }
      this.m.set(p.name, this.be.keep(this.be.tensor(mv.m, p.value.shape)));
      this.v.set(p.name, this.be.keep(this.be.tensor(mv.v, p.value.shape)));
    }
  }
}
