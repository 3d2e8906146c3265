/**
 * Matrix products: `matmul` (2-D, flattened leading dims, or batched 3-D; optional transposes,
 * bias and alpha), `matmulGelu` (fused exact-erf GELU epilogue) and `matmulAccumulate`
 * (C += op(A) op(B) in place, for weight gradients). f32 in, f32 accumulation on the GPU; the CPU
 * reference accumulates in f64.
 *
 * GPU: kernels/matmul_vec4.wgsl when both operands' contiguous dimensions are multiples of 4
 * (the transformer shapes), kernels/matmul_scalar.wgsl otherwise. They compute an 8x8 (vec4) or
 * 4x4 (scalar) block of C per thread; the workgroup shape is chosen per adapter (see
 * {@link matmulTuning}).
 * @module
 */
import { type Backend, type CpuArray, numel, type Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { erf } from "../util/math.ts";

/** Options of {@link matmul} and {@link matmulGelu}. */
export interface MatmulOptions {
  /** A is stored transposed ([K, M], or [B, K, M] when batched). */
  transA?: boolean;
  /** B is stored transposed ([N, K], or [B, N, K] when batched); e.g. x W^T with W [out, in]. */
  transB?: boolean;
  /** Per-column bias [N], added after scaling by alpha. */
  bias?: Tensor;
  /** Scale of the product (default 1). */
  alpha?: number;
}

/** Options of {@link matmulAccumulate}: no bias (C += alpha op(A) op(B)). */
export type MatmulAccumulateOptions = Omit<MatmulOptions, "bias">;

/** Workgroup shape (threads) of the matmul kernels; each thread computes an 8x8 or 4x4 block. */
export interface MatmulTiles {
  /** Threads along N. */
  wgX: number;
  /** Threads along M. */
  wgY: number;
}

/**
 * Workgroup shapes per adapter kind, mutable so benchmarks can sweep them. On lavapipe the
 * shape made no measurable difference (8x8 to 32x32 threads all within noise at 1024^3 and on
 * 197-row products), so the software default is the smallest, which idles the fewest lanes on
 * small products. Hardware GPUs want more threads per group and more groups than 8x8-per-thread
 * blocks give for 197-row products; 8x8 threads is an untuned middle ground.
 */
export const matmulTuning: { software: MatmulTiles; hardware: MatmulTiles } = {
  software: { wgX: 8, wgY: 8 },
  hardware: { wgX: 8, wgY: 8 },
};

/** The resolved problem: batch x [M, K] x [K, N]. */
interface Plan {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  outShape: number[];
}

function plan(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Plan {
  const ra = a.shape.length, rb = b.shape.length;
  let batch = 1, M: number, Ka: number, outLead: number[];
  if (rb === 2) {
    if (ra < 2 || (ra > 2 && transA)) {
      throw new Error(`${op}: a [${a.shape}] must be 2-D (or rank > 2 without transA) when b is 2-D`);
    }
    if (ra === 2) {
      [M, Ka] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
      outLead = [M];
    } else {
      Ka = a.shape[ra - 1];
      M = a.size / Ka;
      outLead = a.shape.slice(0, -1);
    }
  } else if (rb === 3 && ra === 3) {
    if (a.shape[0] !== b.shape[0]) {
      throw new Error(`${op}: batch sizes differ ([${a.shape}] vs [${b.shape}])`);
    }
    batch = a.shape[0];
    [M, Ka] = transA ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]];
    outLead = [batch, M];
  } else {
    throw new Error(`${op}: unsupported ranks a [${a.shape}], b [${b.shape}] (2-D b, or 3-D a and b)`);
  }
  const [Kb, N] = transB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  if (Ka !== Kb) {
    throw new Error(
      `${op}: inner dimensions differ: a [${a.shape}]${transA ? "^T" : ""} x b [${b.shape}]${
        transB ? "^T" : ""
      } (${Ka} vs ${Kb})`,
    );
  }
  return { batch, M, N, K: Ka, transA, transB, outShape: [...outLead, N] };
}

function checkBias(op: string, bias: Tensor | undefined, N: number): void {
  if (bias && bias.size !== N) throw new Error(`${op}: bias has shape [${bias.shape}], expected [${N}]`);
}

// ------------------------------------------------------------------------------- CPU reference

/**
 * out[b, i, j] (op)= alpha * sum_k A(i, k) B(k, j) + bias[j], accumulated in f64.
 * `mode`: "store" writes, "add" adds to out.
 */
function cpuMatmul(
  pl: Plan,
  a: CpuArray,
  b: CpuArray,
  out: CpuArray,
  bias: CpuArray | null,
  alpha: number,
  mode: "store" | "add",
): void {
  const { batch, M, N, K, transA, transB } = pl;
  // Element (i, k) of op(A) is a[aB + i * sam + k * sak].
  const sam = transA ? 1 : K, sak = transA ? M : 1;
  // Four rows of C at a time, so each pass over B serves four rows (4x less memory traffic).
  const acc = [new Float64Array(N), new Float64Array(N), new Float64Array(N), new Float64Array(N)];
  for (let bt = 0; bt < batch; bt++) {
    const aB = bt * M * K, bB = bt * K * N, cB = bt * M * N;
    for (let i0 = 0; i0 < M; i0 += 4) {
      // Rows past M repeat row M-1 and are not written.
      const [a0, a1, a2, a3] = [0, 1, 2, 3].map((d) => aB + Math.min(i0 + d, M - 1) * sam);
      const [r0, r1, r2, r3] = acc;
      if (!transB) {
        // i-k-j order: B rows and the accumulators are walked contiguously.
        for (const r of acc) r.fill(0);
        for (let k = 0; k < K; k++) {
          const ka = k * sak;
          const v0 = a[a0 + ka], v1 = a[a1 + ka], v2 = a[a2 + ka], v3 = a[a3 + ka];
          const off = bB + k * N;
          for (let j = 0; j < N; j++) {
            const bv = b[off + j];
            r0[j] += v0 * bv;
            r1[j] += v1 * bv;
            r2[j] += v2 * bv;
            r3[j] += v3 * bv;
          }
        }
      } else {
        // Dot products of op(A) rows with B rows, which are contiguous along k.
        for (let j = 0; j < N; j++) {
          const off = bB + j * K;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let k = 0; k < K; k++) {
            const bv = b[off + k], ka = k * sak;
            s0 += a[a0 + ka] * bv;
            s1 += a[a1 + ka] * bv;
            s2 += a[a2 + ka] * bv;
            s3 += a[a3 + ka] * bv;
          }
          r0[j] = s0;
          r1[j] = s1;
          r2[j] = s2;
          r3[j] = s3;
        }
      }
      for (let d = 0; d < 4 && i0 + d < M; d++) {
        const row = acc[d], o = cB + (i0 + d) * N;
        for (let j = 0; j < N; j++) {
          const v = alpha * row[j] + (bias ? bias[j] : 0);
          out[o + j] = mode === "add" ? out[o + j] + v : v;
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------- GPU

type Entry = "main" | "accumulate" | "gelu";

function gpuMatmul(
  be: GpuBackend,
  pl: Plan,
  a: Tensor,
  b: Tensor,
  bias: Tensor | undefined,
  alpha: number,
  entry: Entry,
  outs: Tensor[],
): void {
  const { batch, M, N, K, transA, transB } = pl;
  if (M === 0 || N === 0 || batch === 0) return;
  // vec4 loads need each operand's contiguous (leading-dimension) extent to be a multiple of 4.
  const lda = transA ? M : K, ldb = transB ? K : N;
  const vec = lda % 4 === 0 && ldb % 4 === 0;
  const w = vec ? 4 : 1;
  // Outputs per thread along each axis: 8x8 in the vec4 kernel, 4x4 in the scalar fallback.
  const block = vec ? 8 : 4;
  const tiles = be.isSoftware ? matmulTuning.software : matmulTuning.hardware;
  const params = packParams(
    {
      M,
      N,
      K,
      alpha,
      lda: lda / w,
      ldb: ldb / w,
      strideA: (M * K) / w,
      strideB: pl.batch > 1 ? (K * N) / w : 0,
      strideC: M * N,
      _p0: 0,
      _p1: 0,
      _p2: 0,
    },
    ["alpha"],
  );
  be.dispatch(
    {
      file: vec ? "matmul_vec4" : "matmul_scalar",
      entry,
      constants: {
        TRANS_A: transA ? 1 : 0,
        TRANS_B: transB ? 1 : 0,
        HAS_BIAS: bias ? 1 : 0,
        WG_X: tiles.wgX,
        WG_Y: tiles.wgY,
      },
    },
    params,
    // Without a bias, A's (read-only) buffer fills the bias slot: every binding must be bound.
    [a, b, bias ?? a, ...outs],
    [Math.ceil(N / (block * tiles.wgX)), Math.ceil(M / (block * tiles.wgY)), batch],
  );
}

// ----------------------------------------------------------------------------------- public

/**
 * out = alpha * op(a) op(b) + bias.
 * a [M,K] (or [K,M] with transA), b [K,N] (or [N,K] with transB) -> [M,N]; a [B,M,K] with
 * b [B,K,N] -> [B,M,N]; a of rank > 2 with 2-D b is flattened into M and keeps its leading dims.
 */
export function matmul(be: Backend, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const pl = plan("matmul", a, b, !!opts.transA, !!opts.transB);
  checkBias("matmul", opts.bias, pl.N);
  const alpha = opts.alpha ?? 1;
  const out = be.empty(pl.outShape);
  if (be.kind === "cpu") {
    cpuMatmul(pl, a.data, b.data, out.data, opts.bias?.data ?? null, alpha, "store");
  } else gpuMatmul(be as GpuBackend, pl, a, b, opts.bias, alpha, "main", [out]);
  return out;
}

/**
 * Linear layer with a fused exact-erf GELU: pre = alpha * op(a) op(b) + bias, out = GELU(pre).
 * `pre` is what {@link geluBackward} needs in the backward pass.
 */
export function matmulGelu(
  be: Backend,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions = {},
): { pre: Tensor; out: Tensor } {
  const pl = plan("matmulGelu", a, b, !!opts.transA, !!opts.transB);
  checkBias("matmulGelu", opts.bias, pl.N);
  const alpha = opts.alpha ?? 1;
  const pre = be.empty(pl.outShape), out = be.empty(pl.outShape);
  if (be.kind === "cpu") {
    cpuMatmul(pl, a.data, b.data, pre.data, opts.bias?.data ?? null, alpha, "store");
    const x = pre.data, o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
  } else gpuMatmul(be as GpuBackend, pl, a, b, opts.bias, alpha, "gelu", [pre, out]);
  return { pre, out };
}

/** In place: c += alpha * op(a) op(b) (weight-gradient accumulation). c must have the product's size. */
export function matmulAccumulate(
  be: Backend,
  a: Tensor,
  b: Tensor,
  c: Tensor,
  opts: MatmulAccumulateOptions = {},
): void {
  const pl = plan("matmulAccumulate", a, b, !!opts.transA, !!opts.transB);
  if (c.size !== numel(pl.outShape)) {
    throw new Error(`matmulAccumulate: c has shape [${c.shape}], expected [${pl.outShape}]`);
  }
  const alpha = opts.alpha ?? 1;
  if (be.kind === "cpu") cpuMatmul(pl, a.data, b.data, c.data, null, alpha, "add");
  else gpuMatmul(be as GpuBackend, pl, a, b, undefined, alpha, "accumulate", [c]);
}

/** Floating-point operations of one product (2 per multiply-add), for benchmarks. */
export function matmulFlops(M: number, N: number, K: number, batch = 1): number {
  return 2 * batch * M * N * K;
}
