/**
 * Losses: mean cross-entropy over rows, and CLIBD's symmetric CLIP loss for one
 * modality pair (spec 3). Both return their gradients directly (no autograd):
 * the losses sit at the end of the graph, so forward and backward share the
 * same row statistics.
 * @module
 */
import { assertShape, type Backend, type Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d, MAX_GROUPS } from "../gpu/grid.ts";
import { matmul } from "./matmul.ts";

/** Result of {@link crossEntropy}. */
export interface CrossEntropyResult {
  /** Mean over rows of -log softmax(logits)[target], shape [1]. */
  loss: Tensor;
  /** d loss / d logits, same shape as logits. */
  dlogits: Tensor;
}

/** Options of {@link clipLoss}. */
export interface ClipLossOptions {
  /** Multiplies every gradient (not the loss): the caller averages several modality pairs. Default 1. */
  gradScale?: number;
  /**
   * A fixed similarity scale s (CLIBD's `fix_temperature`: 1/0.07) used instead of
   * exp(logitScale); dLogitScale is then 0.
   */
  fixedScale?: number;
}

/** Result of {@link clipLoss}. */
export interface ClipLossResult {
  /** (CE(S, I) + CE(S^T, I)) / 2 with S = s a b^T, shape [1]. */
  loss: Tensor;
  /** d loss / d a, [N, D] (times gradScale). */
  da: Tensor;
  /** d loss / d b, [N, D] (times gradScale). */
  db: Tensor;
  /** d loss / d logitScale, [1] (times gradScale; 0 with fixedScale). */
  dLogitScale: Tensor;
}

/** Result of {@link clipLossFromSimilarity}. */
export interface ClipSimilarityResult {
  /** The loss, shape [1]. */
  loss: Tensor;
  /** d loss / d G for G = a b^T, [N, N] (times gradScale). */
  dG: Tensor;
  /** d loss / d logitScale, [1]. */
  dLogitScale: Tensor;
}

/** Workgroup width of the per-row kernels: lavapipe runs wide workgroups as serial loops. */
function rowWorkgroup(be: GpuBackend): number {
  return be.isSoftware ? 64 : 256;
}

/** Workgroup grid with one workgroup per row, folded to 2-D past 65535 rows. */
function rowGrid(rows: number): { groups: [number, number]; rowGroups: number } {
  if (rows <= MAX_GROUPS) return { groups: [Math.max(rows, 1), 1], rowGroups: rows };
  return { groups: [MAX_GROUPS, Math.ceil(rows / MAX_GROUPS)], rowGroups: MAX_GROUPS };
}

/** Sums columns of x [rows, cols] into out [cols], scaled per column (single workgroup). */
function reduceRows(
  be: GpuBackend,
  x: Tensor,
  rows: number,
  cols: number,
  scales: number[],
  out: Tensor,
): void {
  const s = [...scales, 0, 0, 0, 0];
  be.dispatch(
    { file: "loss_reduce" },
    packParams({ rows, cols, _pad0: 0, _pad1: 0, s0: s[0], s1: s[1], s2: s[2], s3: s[3] }, [
      "s0",
      "s1",
      "s2",
      "s3",
    ]),
    [x, out],
    [1],
  );
}

/** log(sum(exp(x[i*stride]))) for i < n, stable. */
function logSumExp(x: ArrayLike<number>, start: number, n: number, stride: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[start + i * stride]);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[start + i * stride] - m);
  return m + Math.log(s);
}

/**
 * Mean cross-entropy of logits [N, V] against class indices targets (i32 [N]),
 * like `torch.nn.functional.cross_entropy` with reduction "mean", plus its
 * gradient. Out-of-range targets throw on the CPU and are clamped on the GPU.
 */
export function crossEntropy(be: Backend, logits: Tensor, targets: Tensor): CrossEntropyResult {
  if (logits.shape.length < 1) throw new Error("crossEntropy: logits must have a class dimension");
  const cols = logits.shape[logits.shape.length - 1];
  const rows = logits.size / cols;
  assertShape("crossEntropy", "targets", targets, [rows]);
  if (targets.dtype !== "i32") throw new Error(`crossEntropy: targets must be i32, got ${targets.dtype}`);
  if (rows === 0 || cols === 0) throw new Error(`crossEntropy: empty logits [${logits.shape}]`);
  const loss = be.empty([1]);
  const dlogits = be.empty(logits.shape);
  if (be.kind === "cpu") {
    const x = logits.data, t = targets.data, d = dlogits.data;
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const ti = t[r];
      if (!(ti >= 0 && ti < cols)) {
        throw new Error(`crossEntropy: target ${ti} of row ${r} not in [0, ${cols})`);
      }
      const base = r * cols, lse = logSumExp(x, base, cols, 1);
      for (let j = 0; j < cols; j++) d[base + j] = (Math.exp(x[base + j] - lse) - (j === ti ? 1 : 0)) / rows;
      total += lse - x[base + ti];
    }
    loss.data[0] = total / rows;
    return { loss, dlogits };
  }
  const gbe = be as GpuBackend;
  const rowLoss = gbe.empty([rows]);
  const { groups, rowGroups } = rowGrid(rows);
  gbe.dispatch(
    { file: "loss_ce", constants: { WG: rowWorkgroup(gbe) } },
    packParams({ rows, cols, row_groups: rowGroups, inv_n: 1 / rows }, ["inv_n"]),
    [logits, targets, dlogits, rowLoss],
    groups,
  );
  reduceRows(gbe, rowLoss, rows, 1, [1 / rows], loss);
  gbe.release(rowLoss);
  return { loss, dlogits };
}

/**
 * The CLIP loss of one modality pair from the raw similarity matrix G = a b^T
 * [N, N] (the part of {@link clipLoss} after the matmul):
 * S = s G, s = exp(logitScale[0]) (or `fixedScale`),
 * loss = (CE(S, I) + CE(S^T, I)) / 2, and the gradients
 * dS = gradScale / (2N) (softmax_rows(S) + softmax_cols(S) - 2I), dG = s dS,
 * dLogitScale = sum(dS * S) (because dS_ij / dlogitScale = S_ij).
 */
export function clipLossFromSimilarity(
  be: Backend,
  g: Tensor,
  logitScale: Tensor,
  opts: ClipLossOptions = {},
): ClipSimilarityResult {
  const n = g.shape[0];
  assertShape("clipLoss", "similarity", g, [n, n]);
  assertShape("clipLoss", "logitScale", logitScale, [1]);
  if (n === 0) throw new Error("clipLoss: empty batch");
  const gradScale = opts.gradScale ?? 1;
  const fixed = opts.fixedScale !== undefined;
  const coef = gradScale / (2 * n);
  const loss = be.empty([1]), dLogitScale = be.empty([1]), dG = be.empty([n, n]);
  if (be.kind === "cpu") {
    const gd = g.data, dgd = dG.data;
    const s = fixed ? opts.fixedScale! : Math.exp(logitScale.data[0]);
    const sm = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) sm[i] = s * gd[i];
    const rowLse = new Float64Array(n), colLse = new Float64Array(n);
    for (let i = 0; i < n; i++) rowLse[i] = logSumExp(sm, i * n, n, 1);
    for (let j = 0; j < n; j++) colLse[j] = logSumExp(sm, j, n, n);
    let total = 0, dls = 0;
    for (let i = 0; i < n; i++) {
      total += rowLse[i] + colLse[i] - 2 * sm[i * n + i];
      for (let j = 0; j < n; j++) {
        const x = sm[i * n + j];
        const ds = coef * (Math.exp(x - rowLse[i]) + Math.exp(x - colLse[j]) - (i === j ? 2 : 0));
        dgd[i * n + j] = s * ds;
        dls += ds * x;
      }
    }
    loss.data[0] = total / (2 * n);
    dLogitScale.data[0] = fixed ? 0 : dls;
    return { loss, dG, dLogitScale };
  }
  const gbe = be as GpuBackend;
  const colLse = gbe.empty([n]), part = gbe.empty([n, 2]);
  const file = "loss_clip", constants = { WG: rowWorkgroup(gbe) };
  const params = (row: number) =>
    packParams({
      n,
      row,
      use_fixed: fixed ? 1 : 0,
      _pad: 0,
      s_fixed: fixed ? opts.fixedScale! : 0,
      coef,
      _pad1: 0,
      _pad2: 0,
    }, ["s_fixed", "coef", "_pad1", "_pad2"]);
  const cols = grid1d(n);
  gbe.dispatch(
    { file, entry: "col_lse_main", constants },
    params(cols.row),
    [g, logitScale, colLse],
    cols.groups,
  );
  const rows = rowGrid(n);
  gbe.dispatch(
    { file, entry: "rows_main", constants },
    params(rows.rowGroups),
    [g, logitScale, colLse, dG, part],
    rows.groups,
  );
  const out = gbe.empty([2]);
  reduceRows(gbe, part, n, 2, [1 / (2 * n), fixed ? 0 : 1], out);
  gbe.copy(out, loss, 0, 0, 1);
  gbe.copy(out, dLogitScale, 1, 0, 1);
  for (const t of [colLse, part, out]) gbe.release(t);
  return { loss, dG, dLogitScale };
}

/**
 * CLIBD's contrastive loss for one modality pair (spec 3): a, b [N, D] are
 * L2-normalised features, logitScale [1] the learnable log-scale;
 * S = exp(logitScale) a b^T, loss = (CE(S, I) + CE(S^T, I)) / 2 with identity
 * labels. Returns da = dG b, db = dG^T a and dLogitScale, all times gradScale.
 * The N x N similarity and its gradient are materialised once each (16 MB at N = 2000).
 */
export function clipLoss(
  be: Backend,
  a: Tensor,
  b: Tensor,
  logitScale: Tensor,
  opts: ClipLossOptions = {},
): ClipLossResult {
  assertShape("clipLoss", "b", b, a.shape);
  if (a.shape.length !== 2) throw new Error(`clipLoss: features must be [N, D], got [${a.shape}]`);
  const g = matmul(be, a, b, { transB: true });
  const { loss, dG, dLogitScale } = clipLossFromSimilarity(be, g, logitScale, opts);
  const da = matmul(be, dG, b);
  const db = matmul(be, dG, a, { transA: true });
  be.release(g);
  be.release(dG);
  return { loss, da, db, dLogitScale };
}
