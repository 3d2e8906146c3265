/**
 * Benchmark section "attention": the fused attention forward and backward on the three CLIBD towers'
 * shapes (ViT-B/16: 197 tokens x 12 heads x 64; BarcodeBERT: 133 x 12 x 64; BERT-small: 20 x 8 x 64,
 * with a padding mask), against the materialised CPU reference on one sequence.
 * @module
 */
import { attention, attentionBackward } from "../ops/attention.ts";
import type { Backend, Tensor } from "../tensor.ts";
import { Rng } from "../util/rng.ts";
import type { BenchContext, BenchRow } from "./types.ts";
import { timeCpu, timeGpu } from "./timing.ts";

/** Section name for `--only attention`. */
export const name = "attention";

/** [label, tokens, heads, head dim, masked]. */
const SHAPES: [string, number, number, number, boolean][] = [
  ["vit 197x12x64", 197, 12, 64, false],
  ["dna 133x12x64", 133, 12, 64, false],
  ["text 20x8x64 masked", 20, 8, 64, true],
];

function inputs(be: Backend, rng: Rng, b: number, t: number, c: number, masked: boolean) {
  const [q, k, v, g] = [0, 1, 2, 3].map(() => be.tensor(rng.uniformArray(b * t * c), [b, t, c]));
  let mask: Tensor | undefined;
  if (masked) {
    const m = new Float32Array(b * t).fill(1);
    for (let i = 0; i < b; i++) m.fill(0, i * t + t - 1 - (i % 8), (i + 1) * t); // 1..8 padding keys
    mask = be.tensor(m, [b, t]);
  }
  return { q, k, v, g, mask };
}

/** Runs the section. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { be, cpu, quick } = ctx;
  const rng = new Rng(3);
  const rows: BenchRow[] = [];
  const batch = quick ? 2 : 16;
  for (const [label, t, heads, d, masked] of SHAPES) {
    const c = heads * d;
    const flops = 4 * batch * heads * t * t * d; // QK^T and PV, 2 FLOP per multiply-add
    const x = inputs(be, rng, batch, t, c, masked);
    const opts = { heads, mask: x.mask };
    const fwd = await timeGpu(be, () => {
      const f = attention(be, x.q, x.k, x.v, opts);
      be.release(f.out);
      be.release(f.lse);
    }, { reps: quick ? 1 : undefined, budgetMs: 2000 });
    const f = attention(be, x.q, x.k, x.v, opts);
    const bwd = await timeGpu(be, () => {
      const g = attentionBackward(be, x.g, x.q, x.k, x.v, f.out, f.lse, opts);
      for (const t of [g.dq, g.dk, g.dv]) be.release(t);
    }, { reps: quick ? 1 : undefined, budgetMs: 2000 });
    for (const t of [x.q, x.k, x.v, x.g, f.out, f.lse]) be.release(t);
    if (x.mask) be.release(x.mask);

    // CPU reference on one sequence, scaled to the batch.
    const cx = inputs(cpu, rng, 1, t, c, masked);
    const copts = { heads, mask: cx.mask };
    let cf = attention(cpu, cx.q, cx.k, cx.v, copts);
    const cpuFwd = timeCpu(() => (cf = attention(cpu, cx.q, cx.k, cx.v, copts))) * batch;
    const cpuBwd = timeCpu(() => attentionBackward(cpu, cx.g, cx.q, cx.k, cx.v, cf.out, cf.lse, copts)) *
      batch;
    const note = `batch ${batch}; CPU = 1 sequence x ${batch}`;
    rows.push(
      { section: name, name: `${label} fwd`, gpu: fwd.ms, cpu: cpuFwd, unit: "ms", note },
      { section: name, name: `${label} bwd`, gpu: bwd.ms, cpu: cpuBwd, unit: "ms", note },
      {
        section: name,
        name: `${label} fwd`,
        gpu: flops / (fwd.ms * 1e6),
        cpu: flops / (cpuFwd * 1e6),
        unit: "GFLOP/s",
        note: "4*B*H*T^2*D",
      },
    );
  }
  return rows;
}
