/**
 * AdamW, exactly as `torch.optim.AdamW` (single-tensor path, amsgrad off):
 * decoupled weight decay `p *= 1 - lr*wd` first, then the Adam update with
 * bias corrections `step_size = lr / (1 - b1^t)` and
 * `denom = sqrt(v) / sqrt(1 - b2^t) + eps`.
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";

/** Hyper-parameters of one AdamW step. Defaults are PyTorch's (and CLIBD's). */
export interface AdamWOptions {
  /** Learning rate of this step (from the schedule). */
  lr: number;
  /** 1-based step count of this parameter (PyTorch's `state["step"]` after increment). */
  step: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Default 0.01. */
  weightDecay?: number;
}

/**
 * One AdamW step in place on `param`, with moment buffers `m` and `v` (zeros
 * before the first step). Parameters without a gradient should simply not be
 * passed: PyTorch skips them entirely, weight decay included (spec 11).
 */
export function adamw(
  be: Backend,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  opts: AdamWOptions,
): void {
  for (const [what, t] of [["grad", grad], ["m", m], ["v", v]] as const) {
    if (t.size !== param.size) throw new Error(`adamw: ${what} has ${t.size} elements, param ${param.size}`);
  }
  if (!(opts.step >= 1) || !Number.isInteger(opts.step)) {
    throw new Error(`adamw: step must be a positive integer, got ${opts.step}`);
  }
  const beta1 = opts.beta1 ?? 0.9, beta2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8, wd = opts.weightDecay ?? 0.01;
  // Step-dependent scalars in f64 on the host, as PyTorch computes them in Python floats.
  const decay = 1 - opts.lr * wd;
  const stepSize = opts.lr / (1 - beta1 ** opts.step);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** opts.step);
  if (be.kind === "cpu") {
    const p = param.data, g = grad.data, md = m.data, vd = v.data;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = (md[i] = beta1 * md[i] + (1 - beta1) * gi);
      const vi = (vd[i] = beta2 * vd[i] + (1 - beta2) * gi * gi);
      p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
    return;
  }
  const { groups, row } = grid1d(param.size);
  (be as GpuBackend).dispatch(
    { file: "adamw" },
    packParams(
      {
        n: param.size,
        row,
        beta1,
        beta2,
        one_minus_beta1: 1 - beta1,
        one_minus_beta2: 1 - beta2,
        eps,
        decay,
        step_size: stepSize,
        bc2_sqrt: bc2Sqrt,
      },
      ["beta1", "beta2", "one_minus_beta1", "one_minus_beta2", "eps", "decay", "step_size", "bc2_sqrt"],
    ),
    [param, grad, m, v],
    groups,
  );
}
