/**
 * Benchmark section "layernorm": LayerNorm forward and backward (with dgamma/dbeta) over ViT-B token
 * rows [B*197, 768], in effective GB/s (bytes that must cross memory at least once) and ms, against the
 * CPU reference on the same rows.
 * @module
 */
import { layerNorm, layerNormBackward } from "../ops/layernorm.ts";
import type { Backend } from "../tensor.ts";
import { Rng } from "../util/rng.ts";
import type { BenchContext, BenchRow } from "./types.ts";
import { timeCpu, timeGpu } from "./timing.ts";

/** Section name for `--only layernorm`. */
export const name = "layernorm";

function inputs(be: Backend, rng: Rng, n: number, c: number) {
  return {
    x: be.tensor(rng.uniformArray(n * c), [n, c]),
    dy: be.tensor(rng.uniformArray(n * c), [n, c]),
    gamma: be.tensor(rng.uniformArray(c, 0.5, 1.5), [c]),
    beta: be.tensor(rng.uniformArray(c), [c]),
    dg: be.zeros([c]),
    db: be.zeros([c]),
  };
}

/** Runs the section. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { be, cpu, quick } = ctx;
  const rng = new Rng(4);
  const c = 768, n = (quick ? 2 : 16) * 197;
  const x = inputs(be, rng, n, c);
  const fwd = await timeGpu(be, () => {
    const f = layerNorm(be, x.x, x.gamma, x.beta, 1e-6);
    for (const t of [f.y, f.mean, f.rstd]) be.release(t);
  }, { reps: quick ? 1 : undefined, budgetMs: 1000 });
  const f = layerNorm(be, x.x, x.gamma, x.beta, 1e-6);
  const bwd = await timeGpu(be, () => {
    be.release(layerNormBackward(be, x.dy, x.x, x.gamma, f.mean, f.rstd, { gamma: x.dg, beta: x.db }));
  }, { reps: quick ? 1 : undefined, budgetMs: 1000 });
  for (const t of [x.x, x.dy, x.gamma, x.beta, x.dg, x.db, f.y, f.mean, f.rstd]) be.release(t);

  const cx = inputs(cpu, rng, n, c);
  let cf = layerNorm(cpu, cx.x, cx.gamma, cx.beta, 1e-6);
  const cpuFwd = timeCpu(() => (cf = layerNorm(cpu, cx.x, cx.gamma, cx.beta, 1e-6)));
  const cpuBwd = timeCpu(() =>
    layerNormBackward(cpu, cx.dy, cx.x, cx.gamma, cf.mean, cf.rstd, { gamma: cx.dg, beta: cx.db })
  );
  // Minimum traffic: forward reads x, writes y; backward reads dy and x, writes dx.
  const fwdBytes = 2 * n * c * 4, bwdBytes = 3 * n * c * 4;
  const label = `${n}x${c}`;
  return [
    { section: name, name: `${label} fwd`, gpu: fwd.ms, cpu: cpuFwd, unit: "ms" },
    { section: name, name: `${label} bwd (+dgamma, dbeta)`, gpu: bwd.ms, cpu: cpuBwd, unit: "ms" },
    {
      section: name,
      name: `${label} fwd`,
      gpu: fwdBytes / (fwd.ms * 1e6),
      cpu: fwdBytes / (cpuFwd * 1e6),
      unit: "GB/s",
    },
    {
      section: name,
      name: `${label} bwd`,
      gpu: bwdBytes / (bwd.ms * 1e6),
      cpu: bwdBytes / (cpuBwd * 1e6),
      unit: "GB/s",
    },
  ];
}
