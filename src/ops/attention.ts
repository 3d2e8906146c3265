/**
 * Multi-head scaled-dot-product attention, fused: softmax(scale * q k^T + maskAdd) v per head, where the
 * GPU kernels stream over keys with an online softmax and never materialise the [B,H,T,T] scores. The
 * backward recomputes the probabilities from q, k and the saved log-sum-exp (flash-attention style).
 *
 * Optional attention-probability dropout (HF BERT's `attention_probs_dropout_prob`, training only):
 * out_i = sum_j z_ij/(1-p) P_ij v_j with P the undropped softmax and z_ij the keep mask of
 * (batch, head, query i, key j) from `dropoutHash(seed, ((rowOffset + b) * heads + h) * T + i, j)` (see
 * `dropout.ts`), regenerated in the backward, never stored.
 *
 * The CPU reference is deliberately the plain form (materialised score matrix, ordinary softmax), so the
 * tests compare two independent derivations.
 * @module
 */
import { assertShape, type Backend, type Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d, MAX_GROUPS } from "../gpu/grid.ts";
import { dropoutHash, dropoutThreshold } from "./dropout.ts";

/** torch.finfo(torch.float32).min: what HF BERT adds to the scores of padding keys. */
export const F32_MIN = -3.4028234663852886e38;

/** Largest head dim the GPU kernels hold in registers. */
const MAX_HEAD_DIM = 128;

/** Options of {@link attention} and {@link attentionBackward}. */
export interface AttentionOptions {
  /** Number of heads; C = heads * D. */
  heads: number;
  /** Score scale, default 1/sqrt(D). */
  scale?: number;
  /** Key mask f32 [B,T]: 1 = attend, 0 = padding (score += (1 - mask) * f32 min, as HF BERT). */
  mask?: Tensor;
  /**
   * Dropout on the attention probabilities (after softmax, before multiplying by V). `rowOffset` is the
   * batch index of the first row in the mask's index space (gradient-cache chunks pass their offset so a
   * chunk sees the same mask as in one full-batch pass). The backward must get the same options.
   */
  dropout?: AttentionDropout;
}

/** Attention-probability dropout settings. */
export interface AttentionDropout {
  /** Drop probability in [0, 1). */
  p: number;
  /** Mask seed (u32). */
  seed: number;
  /** Batch offset of row 0 in the mask's index space (default 0). */
  rowOffset?: number;
}

/** Result of {@link attention}. */
export interface AttentionOut {
  /** Attention output [B,T,C]. */
  out: Tensor;
  /** Log-sum-exp of each query's (scaled, masked) scores [B,heads,T]; the backward needs it. */
  lse: Tensor;
}

/** Gradients returned by {@link attentionBackward}, each [B,T,C]. */
export interface AttentionGrads {
  /** Gradient with respect to q. */
  dq: Tensor;
  /** Gradient with respect to k (zero rows for padding keys). */
  dk: Tensor;
  /** Gradient with respect to v (zero rows for padding keys). */
  dv: Tensor;
}

interface Dims {
  b: number;
  t: number;
  c: number;
  h: number;
  d: number;
  scale: number;
  /** Dropout: null when off (or p = 0). */
  drop: { thr: number; scale: number; seed: number; off: number } | null;
}

function dims(op: string, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Dims {
  if (q.shape.length !== 3) throw new Error(`${op}: q must be [B,T,C], got [${q.shape}]`);
  const [b, t, c] = q.shape;
  assertShape(op, "k", k, [b, t, c]);
  assertShape(op, "v", v, [b, t, c]);
  if (opts.mask) assertShape(op, "mask", opts.mask, [b, t]);
  const h = opts.heads;
  if (!(h > 0) || c % h !== 0) throw new Error(`${op}: C=${c} is not divisible by heads=${h}`);
  const d = c / h;
  const dr = opts.dropout;
  let drop: Dims["drop"] = null;
  if (dr && dr.p !== 0) {
    const off = dr.rowOffset ?? 0;
    if (!Number.isInteger(off) || off < 0) throw new Error(`${op}: bad dropout rowOffset ${off}`);
    drop = { thr: dropoutThreshold(dr.p), scale: 1 / (1 - dr.p), seed: dr.seed >>> 0, off };
  }
  return { b, t, c, h, d, scale: opts.scale ?? 1 / Math.sqrt(d), drop };
}

/** Per-key additive mask term for batch b (all zeros without a mask). */
function maskAdd(mask: Tensor | undefined, b: number, t: number): Float64Array {
  const add = new Float64Array(t);
  if (mask) { for (let j = 0; j < t; j++) add[j] = (1 - mask.data[b * t + j]) * F32_MIN; }
  return add;
}

/** Plain reference: scores S [T,T] and probabilities P [T,T] of one (batch, head), plus each row's lse. */
function probabilities(
  qd: ArrayLike<number>,
  kd: ArrayLike<number>,
  x: Dims,
  b: number,
  hh: number,
  add: Float64Array,
): { p: Float64Array; lse: Float64Array } {
  const { t, c, d, scale } = x;
  const p = new Float64Array(t * t), lse = new Float64Array(t);
  for (let i = 0; i < t; i++) {
    const qo = (b * t + i) * c + hh * d;
    let m = -Infinity;
    for (let j = 0; j < t; j++) {
      const ko = (b * t + j) * c + hh * d;
      let s = 0;
      for (let e = 0; e < d; e++) s += qd[qo + e] * kd[ko + e];
      const sc = s * scale + add[j];
      p[i * t + j] = sc;
      m = Math.max(m, sc);
    }
    let z = 0;
    for (let j = 0; j < t; j++) z += p[i * t + j] = Math.exp(p[i * t + j] - m);
    for (let j = 0; j < t; j++) p[i * t + j] /= z;
    lse[i] = m + Math.log(z);
  }
  return { p, lse };
}

/** z_ij / (1-p) for every (i, j) of one (batch, head): the dropped-probability factors (all 1 when off). */
function dropFactors(x: Dims, b: number, hh: number): Float64Array {
  const { t } = x;
  const f = new Float64Array(t * t).fill(1);
  const dr = x.drop;
  if (!dr) return f;
  for (let i = 0; i < t; i++) {
    const row = ((dr.off + b) * x.h + hh) * t + i;
    for (let j = 0; j < t; j++) f[i * t + j] = dropoutHash(dr.seed, row, j) >= dr.thr ? dr.scale : 0;
  }
  return f;
}

function checkGpuHeadDim(op: string, x: Dims): void {
  if (x.d % 4 !== 0 || x.d > MAX_HEAD_DIM) {
    throw new Error(`${op}: the GPU kernels need a head dim that is a multiple of 4 and <= 128, got ${x.d}`);
  }
  if (x.b * x.h > MAX_GROUPS) throw new Error(`${op}: batch*heads=${x.b * x.h} exceeds ${MAX_GROUPS}`);
}

/** Threads per workgroup of the attention kernels (one query or key row each). */
function attentionWg(be: GpuBackend, t: number): number {
  // Software adapters run a workgroup's lanes as SIMD loops: 8..128 measured the same under lavapipe
  // (ViT 197x12x64, B=2: ~120 ms) and 4 was slower, so the smallest full vector avoids idle lanes on
  // short sequences. Hardware wants at least a warp's worth.
  const cap = be.isSoftware ? 8 : 64;
  let wg = be.isSoftware ? 8 : 32;
  while (wg < t && wg < cap) wg *= 2;
  return wg;
}

function kernelParams(x: Dims): ArrayBuffer {
  const dr = x.drop;
  return packParams(
    {
      t: x.t,
      c4: x.c / 4,
      d4: x.d / 4,
      heads: x.h,
      scale: x.scale,
      seed: dr?.seed ?? 0,
      thr: dr?.thr ?? 0,
      boff: dr?.off ?? 0,
      dscale: dr?.scale ?? 1,
      _p0: 0,
      _p1: 0,
      _p2: 0,
    },
    ["scale", "dscale"],
  );
}

/**
 * Multi-head attention over q, k, v [B,T,C] (head h in columns h*D .. h*D+D): returns the output [B,T,C]
 * and the per-row log-sum-exp [B,heads,T].
 */
export function attention(
  be: Backend,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions,
): AttentionOut {
  const x = dims("attention", q, k, v, opts);
  const out = be.empty([x.b, x.t, x.c]), lse = be.empty([x.b, x.h, x.t]);
  if (be.kind === "cpu") {
    const qd = q.data, kd = k.data, vd = v.data, od = out.data, ld = lse.data;
    const { t, c, d } = x;
    for (let b = 0; b < x.b; b++) {
      const add = maskAdd(opts.mask, b, t);
      for (let hh = 0; hh < x.h; hh++) {
        const { p, lse: l } = probabilities(qd, kd, x, b, hh, add);
        const z = dropFactors(x, b, hh);
        for (let i = 0; i < t; i++) {
          ld[(b * x.h + hh) * t + i] = l[i];
          const oo = (b * t + i) * c + hh * d;
          for (let e = 0; e < d; e++) {
            let s = 0;
            for (let j = 0; j < t; j++) s += z[i * t + j] * p[i * t + j] * vd[(b * t + j) * c + hh * d + e];
            od[oo + e] = s;
          }
        }
      }
    }
    return { out, lse };
  }
  const g = be as GpuBackend;
  checkGpuHeadDim("attention", x);
  const wg = attentionWg(g, x.t);
  const mask = opts.mask ?? g.zeros([1]);
  g.dispatch(
    { file: "attention", constants: { WG: wg, HAS_MASK: opts.mask ? 1 : 0, HAS_DROPOUT: x.drop ? 1 : 0 } },
    kernelParams(x),
    [q, k, v, mask, out, lse],
    [Math.ceil(x.t / wg), x.b * x.h],
  );
  if (!opts.mask) g.release(mask);
  return { out, lse };
}

/**
 * Gradients of {@link attention} with respect to q, k and v, given the upstream gradient `dout` [B,T,C]
 * and the forward's `out` and `lse`.
 */
export function attentionBackward(
  be: Backend,
  dout: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  out: Tensor,
  lse: Tensor,
  opts: AttentionOptions,
): AttentionGrads {
  const x = dims("attentionBackward", q, k, v, opts);
  assertShape("attentionBackward", "dout", dout, [x.b, x.t, x.c]);
  assertShape("attentionBackward", "out", out, [x.b, x.t, x.c]);
  assertShape("attentionBackward", "lse", lse, [x.b, x.h, x.t]);
  const dq = be.empty(q.shape), dk = be.empty(q.shape), dv = be.empty(q.shape);
  if (be.kind === "cpu") {
    cpuBackward(x, dout.data, q.data, k.data, v.data, opts.mask, dq.data, dk.data, dv.data);
    return { dq, dk, dv };
  }
  const g = be as GpuBackend;
  checkGpuHeadDim("attentionBackward", x);
  const rows = x.b * x.h * x.t;
  const stats = g.empty([rows, 2]);
  const { groups, row } = grid1d(rows, 64);
  g.dispatch(
    { file: "attention_prep" },
    packParams({ t: x.t, c4: x.c / 4, d4: x.d / 4, heads: x.h, n: rows, row, _p0: 0, _p1: 0 }),
    [out, dout, lse, stats],
    groups,
  );
  const wg = attentionWg(g, x.t);
  const constants = { WG: wg, HAS_MASK: opts.mask ? 1 : 0, HAS_DROPOUT: x.drop ? 1 : 0 };
  const mask = opts.mask ?? g.zeros([1]);
  const launch: [number, number] = [Math.ceil(x.t / wg), x.b * x.h];
  g.dispatch({ file: "attention_dq", constants }, kernelParams(x), [q, k, v, mask, dout, stats, dq], launch);
  g.dispatch(
    { file: "attention_dkdv", constants },
    kernelParams(x),
    [q, k, v, mask, dout, stats, dk, dv],
    launch,
  );
  g.release(stats);
  if (!opts.mask) g.release(mask);
  return { dq, dk, dv };
}

/**
 * Reference backward from the materialised probabilities:
 * dP = Z * (dout v^T), dS = P * (dP - rowsum(P * dP)), dq = scale dS k, dk = scale dS^T q,
 * dv = (Z * P)^T dout, with Z the dropout factors z/(1-p) (all ones without dropout); rowsum(P * dP) is
 * dout_i . out_i either way.
 */
function cpuBackward(
  x: Dims,
  gd: ArrayLike<number>,
  qd: ArrayLike<number>,
  kd: ArrayLike<number>,
  vd: ArrayLike<number>,
  mask: Tensor | undefined,
  dq: Float32Array | Float64Array | Int32Array | Uint32Array,
  dk: Float32Array | Float64Array | Int32Array | Uint32Array,
  dv: Float32Array | Float64Array | Int32Array | Uint32Array,
): void {
  const { t, c, d, scale } = x;
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  const ds = new Float64Array(t * t);
  for (let b = 0; b < x.b; b++) {
    const add = maskAdd(mask, b, t);
    for (let hh = 0; hh < x.h; hh++) {
      const { p } = probabilities(qd, kd, x, b, hh, add);
      const z = dropFactors(x, b, hh);
      const col = (r: number) => (b * t + r) * c + hh * d;
      for (let i = 0; i < t; i++) {
        let rowDot = 0;
        for (let j = 0; j < t; j++) {
          let dp = 0;
          for (let e = 0; e < d; e++) dp += gd[col(i) + e] * vd[col(j) + e];
          dp *= z[i * t + j];
          ds[i * t + j] = dp;
          rowDot += p[i * t + j] * dp;
        }
        for (let j = 0; j < t; j++) ds[i * t + j] = p[i * t + j] * (ds[i * t + j] - rowDot);
      }
      for (let i = 0; i < t; i++) {
        for (let j = 0; j < t; j++) {
          const s = ds[i * t + j], pij = p[i * t + j] * z[i * t + j];
          for (let e = 0; e < d; e++) {
            dq[col(i) + e] += scale * s * kd[col(j) + e];
            dk[col(j) + e] += scale * s * qd[col(i) + e];
            dv[col(j) + e] += pij * gd[col(i) + e];
          }
        }
      }
    }
  }
}
