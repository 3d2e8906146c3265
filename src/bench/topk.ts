/**
 * Benchmark section "topk": exact cosine top-5 retrieval (CLIBD's faiss IndexFlatIP search),
 * measured as query-key pairs scored per second, GPU vs the brute-force CPU reference.
 * @module
 */
import { cosineTopK } from "../ops/topk.ts";
import { Rng } from "../util/rng.ts";
import type { BenchContext, BenchRow } from "./types.ts";

/** Section name for `--only topk`. */
export const name = "topk";

/** Pairs per second (in millions) of one search, after a warm-up call (pipeline compilation). */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { be, cpu, quick } = ctx;
  const d = 768, k = 5;
  const [nq, nk] = quick ? [200, 5000] : [1000, 20000];
  // The CPU reference costs ~nq*nk*d flops in JS: time it on fewer queries, same keys.
  const cpuQ = quick ? 10 : 25;
  const rng = new Rng(17);
  const q = rng.normalArray(nq * d), keys = rng.normalArray(nk * d);
  // Two chunks, as the real key sets (325k x 768) arrive.
  const half = Math.floor(nk / 2);
  const gq = be.tensor(q, [nq, d]);
  const gk = [
    be.tensor(keys.subarray(0, half * d), [half, d]),
    be.tensor(keys.subarray(half * d), [nk - half, d]),
  ];
  await cosineTopK(be, gq, gk, k);
  const reps = quick ? 1 : 3;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await cosineTopK(be, gq, gk, k);
  const gpuRate = (reps * nq * nk) / ((performance.now() - t0) / 1000) / 1e6;
  for (const t of [gq, ...gk]) be.release(t);

  const cq = cpu.tensor(q.subarray(0, cpuQ * d), [cpuQ, d]);
  const ck = [cpu.tensor(keys, [nk, d])];
  const t1 = performance.now();
  await cosineTopK(cpu, cq, ck, k);
  const cpuRate = (cpuQ * nk) / ((performance.now() - t1) / 1000) / 1e6;
  return [{
    section: name,
    name: `${nq}x${nk}x${d} top-${k}`,
    gpu: gpuRate,
    cpu: cpuRate,
    unit: "Mpairs/s",
    note: `GPU includes key norms and the readback; CPU reference timed on ${cpuQ} queries`,
  }];
}
