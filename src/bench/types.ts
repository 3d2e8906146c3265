/**
 * Shared types of the benchmark sections (kept apart from the section list in `index.ts` so a
 * section module can import them without an import cycle).
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";

/** What every benchmark section receives. */
export interface BenchContext {
  /** The GPU backend under test. */
  be: GpuBackend;
  /** The f32 CPU reference backend, timed on the same shapes where that is affordable. */
  cpu: CpuBackend;
  /** Fewer repetitions (smoke run / CI). */
  quick: boolean;
}

/** One measured line of the benchmark table. */
export interface BenchRow {
  /** Section name, e.g. "matmul". */
  section: string;
  /** What was measured, e.g. "197x768x768". */
  name: string;
  /** GPU result in `unit`, or null when not measured. */
  gpu: number | null;
  /** CPU reference result in `unit`, or null when skipped (say why in `note`). */
  cpu: number | null;
  /** Unit of `gpu` and `cpu`, e.g. "GFLOP/s", "ms", "us". */
  unit: string;
  /** Optional remark (skipped CPU, reps, ...). */
  note?: string;
}

/** A benchmark section module: `export const name` and `export function run`. */
export interface BenchSection {
  /** Name used by `--only <name>`. */
  name: string;
  /** Runs the section's measurements. */
  run(ctx: BenchContext): Promise<BenchRow[]>;
}
