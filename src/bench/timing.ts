/**
 * Timing helpers shared by benchmark sections.
 * @module
 */
import type { GpuBackend } from "../gpu/gpu_backend.ts";

/** Result of {@link timeGpu}: mean milliseconds per repetition and how many were timed. */
export interface GpuTiming {
  /** Mean wall-clock milliseconds per repetition. */
  ms: number;
  /** Repetitions timed (after one untimed warm-up). */
  reps: number;
}

/**
 * Times `step` on the GPU: one untimed warm-up (compiles pipelines, fills the buffer pool), then
 * `reps` repetitions recorded back to back between two `await be.sync()`. When `reps` is omitted
 * it is chosen from the warm-up time so the timed loop lasts about `budgetMs` (1..maxReps).
 * `step` must release what it allocates, or the pool grows with every repetition.
 */
export async function timeGpu(
  be: GpuBackend,
  step: () => void,
  opts: { reps?: number; budgetMs?: number; maxReps?: number } = {},
): Promise<GpuTiming> {
  await be.sync();
  const w0 = performance.now();
  step();
  await be.sync();
  const warm = performance.now() - w0;
  const reps = opts.reps ??
    Math.max(1, Math.min(opts.maxReps ?? 20, Math.round((opts.budgetMs ?? 1000) / Math.max(warm, 1e-3))));
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) step();
  await be.sync();
  return { ms: (performance.now() - t0) / reps, reps };
}

/** Mean milliseconds of `reps` synchronous runs of `step` on the host. */
export function timeCpu(step: () => void, reps = 1): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) step();
  return (performance.now() - t0) / reps;
}
