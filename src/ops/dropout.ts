/**
 * Inverted dropout (torch nn.Dropout in training: zero with probability p, scale what is kept by
 * 1/(1-p)) with a counter-based keep mask: element (row, col) of x viewed as [N, C] (C = last dim) is
 * kept when `dropoutHash(seed, rowOffset + row, col) >= dropoutThreshold(p)`. Nothing is stored: the
 * backward regenerates the same mask from the seed, and the CPU reference reproduces the GPU mask bit
 * for bit (the hash uses u32 arithmetic only, identical in TS and WGSL). The fused attention kernels
 * use the same hash for their probability dropout (see `attention.ts`).
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";

/** Options of {@link dropout} and {@link dropoutBackward}. */
export interface DropoutOptions {
  /** Row index of x's first row in the mask's row space (gradient-cache chunks use their offset). */
  rowOffset?: number;
}

/** PCG-RXS-M-XS 32-bit permutation (Jarzynski & Olano 2020), the same function as in the kernels. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Keep-mask hash of (seed, row, col), a u32; all three arguments are taken modulo 2^32. */
export function dropoutHash(seed: number, row: number, col: number): number {
  return pcgHash((pcgHash((pcgHash(seed) + row) >>> 0) + col) >>> 0);
}

/** u32 threshold of drop probability p: an element is kept when its hash is >= it. */
export function dropoutThreshold(p: number): number {
  checkP(p);
  return Math.min(Math.floor(p * 4294967296), 4294967295);
}

function checkP(p: number): void {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
}

function run(be: Backend, op: string, x: Tensor, p: number, seed: number, opts: DropoutOptions): Tensor {
  checkP(p);
  const y = be.empty(x.shape);
  const cols = x.shape.length > 0 ? x.shape[x.shape.length - 1] : 1;
  const rowOffset = opts.rowOffset ?? 0;
  if (!Number.isInteger(rowOffset) || rowOffset < 0) throw new Error(`${op}: bad rowOffset ${rowOffset}`);
  const thr = dropoutThreshold(p), s = 1 / (1 - p), sd = seed >>> 0;
  if (be.kind === "cpu") {
    const xd = x.data, yd = y.data, n = x.size;
    for (let i = 0, r = 0; i < n; r++) {
      for (let c = 0; c < cols; c++, i++) {
        yd[i] = dropoutHash(sd, rowOffset + r, c) >= thr ? xd[i] * s : 0;
      }
    }
    return y;
  }
  const { groups, row } = grid1d(x.size);
  (be as GpuBackend).dispatch(
    { file: "dropout" },
    packParams({ n: x.size, cols, row, rowOffset, seed: sd, thr, scale: s, _p0: 0 }, ["scale"]),
    [x, y],
    groups,
  );
  return y;
}

/** y = mask * x / (1-p), the mask a fixed function of (seed, rowOffset + row, col); p = 0 copies x. */
export function dropout(be: Backend, x: Tensor, p: number, seed: number, opts: DropoutOptions = {}): Tensor {
  return run(be, "dropout", x, p, seed, opts);
}

/** dx = mask * dy / (1-p) with the mask of the {@link dropout} call with the same p, seed and offset. */
export function dropoutBackward(
  be: Backend,
  dy: Tensor,
  p: number,
  seed: number,
  opts: DropoutOptions = {},
): Tensor {
  return run(be, "dropoutBackward", dy, p, seed, opts);
}
