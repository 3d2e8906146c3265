/**
 * Shared test helpers: the process-wide GPU backend, CPU backends, tolerance
 * checks and central finite differences.
 */
import { GpuBackend } from "../src/gpu/gpu_backend.ts";
import { CpuBackend } from "../src/cpu_backend.ts";
import type { Backend, HostArray, Tensor } from "../src/tensor.ts";

Deno.env.set("CLIBD_QUIET", "1");

/** The one GPU backend of this test process. */
export function gpu(): Promise<GpuBackend> {
  return GpuBackend.create();
}

/** CPU reference backend in f32 (same precision as the GPU). */
export const cpu: CpuBackend = new CpuBackend();
/** CPU reference backend in f64 (finite differences). */
export const cpu64: CpuBackend = new CpuBackend({ precision: 64 });

/** Max |a - b| / (atol + rtol |b|) must be <= 1; reports the worst element. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { rtol?: number; atol?: number; what?: string } = {},
): void {
  const rtol = opts.rtol ?? 1e-4, atol = opts.atol ?? 1e-5;
  if (actual.length !== expected.length) {
    throw new Error(`${opts.what ?? "arrays"}: length ${actual.length} vs expected ${expected.length}`);
  }
  let worst = -1, worstRatio = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!Number.isFinite(a) && !(Number.isNaN(a) && Number.isNaN(e)) && a !== e) {
      throw new Error(`${opts.what ?? "arrays"}: element ${i} is ${a}, expected ${e}`);
    }
    if (a === e) continue; // equal values, infinities included
    const r = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (r > worstRatio || Number.isNaN(r)) {
      worstRatio = Number.isNaN(r) ? Infinity : r;
      worst = i;
    }
  }
  if (worstRatio > 1) {
    throw new Error(
      `${opts.what ?? "arrays"}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)}, rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** Reads a tensor from any backend as numbers. */
export function readAll(be: Backend, t: Tensor): Promise<HostArray> {
  return be.read(t);
}

/**
 * Central finite differences of a scalar function of one input array, evaluated
 * at `indices` (all when omitted). `f` must be deterministic.
 */
export function finiteDiff(
  f: (x: Float64Array) => number,
  x: Float64Array,
  eps = 1e-5,
  indices?: number[],
): Map<number, number> {
  const out = new Map<number, number>();
  const idx = indices ?? [...x.keys()];
  for (const i of idx) {
    const orig = x[i];
    x[i] = orig + eps;
    const fp = f(x);
    x[i] = orig - eps;
    const fm = f(x);
    x[i] = orig;
    out.set(i, (fp - fm) / (2 * eps));
  }
  return out;
}

/** A few indices spread over [0, n), deterministic. */
export function sampleIndices(n: number, count: number, seed = 1): number[] {
  if (n <= count) return [...Array(n).keys()];
  const s = new Set<number>();
  let x = seed >>> 0;
  while (s.size < count) {
    // 32-bit LCG in integer arithmetic (a float product would exceed 2^53 and lose bits).
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s.add((x >>> 8) % n);
  }
  return [...s].sort((a, b) => a - b);
}
