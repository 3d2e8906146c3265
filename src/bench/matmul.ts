/**
 * Benchmark section "matmul": GFLOP/s of the matmul kernels on the CLIBD shapes (ViT-B tokens x
 * hidden, QKV, MLP, BarcodeBERT's 133-token MLP, a 2000-row similarity block, 1024^3) and of the
 * weight-gradient accumulation, with the CPU reference timed on the same shapes where affordable.
 * @module
 */
import { matmul, matmulAccumulate } from "../ops/matmul.ts";
import type { Backend, Tensor } from "../tensor.ts";
import { Rng } from "../util/rng.ts";
import type { BenchContext, BenchRow } from "./types.ts";
import { timeCpu, timeGpu } from "./timing.ts";

/** Section name for `--only matmul`. */
export const name = "matmul";

/** Shapes as M x K x N: x [M,K] times W [N,K]^T, the way a linear layer calls matmul. */
const SHAPES: [number, number, number][] = [
  [197, 768, 768],
  [197, 768, 2304],
  [197, 3072, 768],
  [133, 768, 3072],
  [2000, 768, 2000],
  [1024, 1024, 1024],
];

/** CPU reference runs predicted to take longer than this use a row-subset proxy. */
const CPU_LIMIT_MS = 20_000;
/** The same limit under --quick. */
const CPU_QUICK_MS = 1_000;

function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}

function operands(be: Backend, rng: Rng, M: number, K: number, N: number): [Tensor, Tensor] {
  return [be.tensor(rng.uniformArray(M * K), [M, K]), be.tensor(rng.uniformArray(N * K), [N, K])];
}

/** Runs the section. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { be, cpu, quick } = ctx;
  const rng = new Rng(1);
  const rows: BenchRow[] = [];
  let cpuRate: number | null = null; // FLOP per ms measured on the previous CPU run, to predict the next
  for (const [M, K, N] of SHAPES) {
    const flops = 2 * M * N * K;
    const [a, w] = operands(be, rng, M, K, N);
    const g = await timeGpu(be, () => be.release(matmul(be, a, w, { transB: true })), {
      reps: quick ? 1 : undefined,
      budgetMs: 2000,
    });
    be.release(a);
    be.release(w);
    // The CPU reference runs the full shape when that is predicted to fit the budget, else a
    // row-subset proxy (same K and N, fewer rows of x): GFLOP/s of a row-major product barely
    // depends on M once M is in the tens.
    const budget = quick ? CPU_QUICK_MS : CPU_LIMIT_MS;
    const predicted: number = cpuRate ? flops / cpuRate : 0;
    const cpuM: number = predicted <= budget ? M : Math.max(8, Math.floor((M * budget) / (2 * predicted)));
    const [ca, cw] = operands(cpu, rng, cpuM, K, N);
    const cms = timeCpu(() => matmul(cpu, ca, cw, { transB: true }));
    const cpuFlops: number = 2 * cpuM * N * K;
    cpuRate = cpuFlops / cms;
    const cpuVal = gflops(cpuFlops, cms);
    let note = `x W^T, ${g.reps} GPU reps`;
    if (cpuM !== M) note += `; CPU on ${cpuM}x${K}x${N} rows`;
    rows.push({
      section: name,
      name: `${M}x${K}x${N}`,
      gpu: gflops(flops, g.ms),
      cpu: cpuVal,
      unit: "GFLOP/s",
      note,
    });
  }
  // Weight gradient of the 768x768 projection over 197 tokens: dW [768,768] += dy^T x (transA).
  {
    const [T, C] = [197, 768];
    const dy = be.tensor(rng.uniformArray(T * C), [T, C]), x = be.tensor(rng.uniformArray(T * C), [T, C]);
    const dw = be.zeros([C, C]);
    const g = await timeGpu(be, () => matmulAccumulate(be, dy, x, dw, { transA: true }), {
      reps: quick ? 1 : undefined,
      budgetMs: 1000,
    });
    for (const t of [dy, x, dw]) be.release(t);
    const cdy = cpu.tensor(rng.uniformArray(T * C), [T, C]), cx = cpu.tensor(rng.uniformArray(T * C), [T, C]);
    const cdw = cpu.zeros([C, C]);
    const ms = timeCpu(() => matmulAccumulate(cpu, cdy, cx, cdw, { transA: true }));
    const flops = 2 * T * C * C;
    rows.push({
      section: name,
      name: `dW ${C}x${T}x${C} (accumulate, transA)`,
      gpu: gflops(flops, g.ms),
      cpu: gflops(flops, ms),
      unit: "GFLOP/s",
      note: `dy^T x, ${g.reps} GPU reps`,
    });
  }
  return rows;
}
