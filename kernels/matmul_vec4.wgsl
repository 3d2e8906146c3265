// Register-blocked matmul, vec4 loads: C = alpha * op(A) op(B) (+ bias), batched over gid.z.
// Each thread computes an 8x8 block of C (rows m0..m0+7, columns n0..n0+7) straight from global
// memory; no workgroup tiling, because on software adapters every storage load is scalarised per
// lane, so what matters is FMAs per load: 16 here (8 + 8 vec4 loads feed 256 FMAs per 4 steps of
// k), against 8 for a 4x4 block, which measured 1.7x slower on lavapipe. Real GPUs serve the
// re-reads from L1/L2; the workgroup shape (WG_X x WG_Y threads) is chosen per adapter.
//
// A and B are bound as arrays of vec4, so the operand's contiguous dimension must be a multiple
// of 4: A's K (or M when TRANS_A), B's N (or K when TRANS_B). The host picks matmul_scalar.wgsl
// otherwise. Rows/columns past M/N are clamped on load and skipped on store, so any M, N works;
// K is stepped by 4 except in the TN case, where it is not a vec4 dimension and is stepped by 1.
//
// Entry points (epilogues): main (store), accumulate (C += result), gelu (pre + exact-erf GELU).

struct Params {
  M: u32, N: u32, K: u32, alpha: f32,
  lda: u32, ldb: u32, strideA: u32, strideB: u32,  // in vec4 units
  strideC: u32, _p0: u32, _p1: u32, _p2: u32,      // in floats
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;       // A's buffer again when HAS_BIAS is false
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // C, or the pre-activation for gelu
@group(0) @binding(5) var<storage, read_write> act: array<f32>;  // gelu only: GELU(pre)

override TRANS_A: bool = false;  // A stored [K, M]
override TRANS_B: bool = false;  // B stored [N, K]
override HAS_BIAS: bool = false;
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

const TILE: u32 = 8u;  // rows and columns of C per thread

// acc[2i] holds row m0 + i, columns n0..n0+3; acc[2i + 1] columns n0+4..n0+7. The loops have
// constant trip counts, so the compiler unrolls them and keeps acc in registers.
struct Block { acc: array<vec4<f32>, 16> }

fn tile(m0: u32, n0: u32, batch: u32) -> Block {
  var acc: array<vec4<f32>, 16>;
  let aBase = batch * p.strideA;
  let bBase = batch * p.strideB;
  let K4 = p.K / 4u;
  // Row offsets of op(A) rows (NN, NT) or of op(B) columns stored as rows (NT, TT), clamped.
  var ra: array<u32, 8>;
  var rb: array<u32, 8>;
  for (var i = 0u; i < TILE; i++) {
    ra[i] = aBase + min(m0 + i, p.M - 1u) * p.lda;
    rb[i] = bBase + min(n0 + i, p.N - 1u) * p.ldb;
  }
  // vec4 column indices of the two halves of the block along a contiguous M or N (TN, NN, TT).
  let am0 = aBase + min(m0 / 4u, p.lda - 1u);
  let am1 = aBase + min(m0 / 4u + 1u, p.lda - 1u);
  let bn0 = bBase + min(n0 / 4u, p.ldb - 1u);
  let bn1 = bBase + min(n0 / 4u + 1u, p.ldb - 1u);
  if (!TRANS_A && !TRANS_B) {
    // NN: B rows k..k+3 as two 4x4 matrices; Bm * a_i = sum_r a_i[r] B[k + r, :].
    for (var k4 = 0u; k4 < K4; k4++) {
      let k = 4u * k4 * p.ldb;
      let s = p.ldb;
      let b0 = mat4x4<f32>(b[bn0 + k], b[bn0 + k + s], b[bn0 + k + 2u * s], b[bn0 + k + 3u * s]);
      let b1 = mat4x4<f32>(b[bn1 + k], b[bn1 + k + s], b[bn1 + k + 2u * s], b[bn1 + k + 3u * s]);
      for (var i = 0u; i < TILE; i++) {
        let av = a[ra[i] + k4];
        acc[2u * i] += b0 * av;
        acc[2u * i + 1u] += b1 * av;
      }
    }
  } else if (!TRANS_A && TRANS_B) {
    // NT (x W^T): rows of B are columns of C; a_i * Bm = (dot(a_i, b_0), ..., dot(a_i, b_3)).
    for (var k4 = 0u; k4 < K4; k4++) {
      let b0 = mat4x4<f32>(b[rb[0] + k4], b[rb[1] + k4], b[rb[2] + k4], b[rb[3] + k4]);
      let b1 = mat4x4<f32>(b[rb[4] + k4], b[rb[5] + k4], b[rb[6] + k4], b[rb[7] + k4]);
      for (var i = 0u; i < TILE; i++) {
        let av = a[ra[i] + k4];
        acc[2u * i] += av * b0;
        acc[2u * i + 1u] += av * b1;
      }
    }
  } else if (TRANS_A && !TRANS_B) {
    // TN (weight gradients): outer products of A[k, m0..m0+7] and B[k, n0..n0+7]; any K.
    for (var k = 0u; k < p.K; k++) {
      let ka = k * p.lda;
      let kb = k * p.ldb;
      let a0 = a[am0 + ka];
      let a1 = a[am1 + ka];
      let b0 = b[bn0 + kb];
      let b1 = b[bn1 + kb];
      for (var i = 0u; i < 4u; i++) {
        acc[2u * i] += a0[i] * b0;
        acc[2u * i + 1u] += a0[i] * b1;
        acc[8u + 2u * i] += a1[i] * b0;
        acc[9u + 2u * i] += a1[i] * b1;
      }
    }
  } else {
    // TT: transpose 4x4 blocks of A so that row i is a vec4 along k, then as in NT.
    for (var k4 = 0u; k4 < K4; k4++) {
      let k = 4u * k4 * p.lda;
      let s = p.lda;
      let a0 = transpose(mat4x4<f32>(a[am0 + k], a[am0 + k + s], a[am0 + k + 2u * s], a[am0 + k + 3u * s]));
      let a1 = transpose(mat4x4<f32>(a[am1 + k], a[am1 + k + s], a[am1 + k + 2u * s], a[am1 + k + 3u * s]));
      let b0 = mat4x4<f32>(b[rb[0] + k4], b[rb[1] + k4], b[rb[2] + k4], b[rb[3] + k4]);
      let b1 = mat4x4<f32>(b[rb[4] + k4], b[rb[5] + k4], b[rb[6] + k4], b[rb[7] + k4]);
      for (var i = 0u; i < 4u; i++) {
        acc[2u * i] += a0[i] * b0;
        acc[2u * i + 1u] += a0[i] * b1;
        acc[8u + 2u * i] += a1[i] * b0;
        acc[9u + 2u * i] += a1[i] * b1;
      }
    }
  }
  return Block(acc);
}

// #include "erf.wgsl"

// v = alpha * acc + bias[n]
fn epi(v: f32, n: u32) -> f32 {
  var r = p.alpha * v;
  if (HAS_BIAS) { r += bias[n]; }
  return r;
}

fn gelu_exact(v: f32) -> f32 { return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752)); }

// The three epilogues are spelled out separately (not one function with a mode switch) because a
// binding referenced anywhere in an entry point's call graph joins its "auto" layout: only the
// gelu entry may touch `act`.
fn store_main(m: u32, n0: u32, base: u32, row: vec4<f32>) {
  if (m >= p.M || n0 >= p.N) { return; }
  let i = base + m * p.N + n0;
  let nc = min(4u, p.N - n0);
  out[i] = epi(row.x, n0);
  if (nc > 1u) { out[i + 1u] = epi(row.y, n0 + 1u); }
  if (nc > 2u) { out[i + 2u] = epi(row.z, n0 + 2u); }
  if (nc > 3u) { out[i + 3u] = epi(row.w, n0 + 3u); }
}

fn store_acc(m: u32, n0: u32, base: u32, row: vec4<f32>) {
  if (m >= p.M || n0 >= p.N) { return; }
  let i = base + m * p.N + n0;
  let nc = min(4u, p.N - n0);
  out[i] += epi(row.x, n0);
  if (nc > 1u) { out[i + 1u] += epi(row.y, n0 + 1u); }
  if (nc > 2u) { out[i + 2u] += epi(row.z, n0 + 2u); }
  if (nc > 3u) { out[i + 3u] += epi(row.w, n0 + 3u); }
}

fn store_gelu(m: u32, n0: u32, base: u32, row: vec4<f32>) {
  if (m >= p.M || n0 >= p.N) { return; }
  let i = base + m * p.N + n0;
  let nc = min(4u, p.N - n0);
  for (var j = 0u; j < nc; j++) {
    let v = epi(row[j], n0 + j);
    out[i + j] = v;
    act[i + j] = gelu_exact(v);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * TILE;
  let n0 = gid.x * TILE;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let blk = tile(m0, n0, gid.z);
  let base = gid.z * p.strideC;
  for (var i = 0u; i < TILE; i++) {
    store_main(m0 + i, n0, base, blk.acc[2u * i]);
    store_main(m0 + i, n0 + 4u, base, blk.acc[2u * i + 1u]);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * TILE;
  let n0 = gid.x * TILE;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let blk = tile(m0, n0, gid.z);
  let base = gid.z * p.strideC;
  for (var i = 0u; i < TILE; i++) {
    store_acc(m0 + i, n0, base, blk.acc[2u * i]);
    store_acc(m0 + i, n0 + 4u, base, blk.acc[2u * i + 1u]);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn gelu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * TILE;
  let n0 = gid.x * TILE;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let blk = tile(m0, n0, gid.z);
  let base = gid.z * p.strideC;
  for (var i = 0u; i < TILE; i++) {
    store_gelu(m0 + i, n0, base, blk.acc[2u * i]);
    store_gelu(m0 + i, n0 + 4u, base, blk.acc[2u * i + 1u]);
  }
}
