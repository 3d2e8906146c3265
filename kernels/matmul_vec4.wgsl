// Register-blocked matmul, vec4 loads: C = alpha * op(A) op(B) (+ bias), batched over gid.z.
// Each thread computes a 4x4 block of C (rows m0..m0+3, columns n0..n0+3) straight from global
// memory; no workgroup tiling, because on software adapters every storage load is scalarised per
// lane and shared-memory staging only adds work, while real GPUs serve the reuse from L1/L2.
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

// acc[i] holds row m0 + i, columns n0..n0+3.
fn tile(m0: u32, n0: u32, batch: u32) -> mat4x4<f32> {
  var acc = mat4x4<f32>();
  let aBase = batch * p.strideA;
  let bBase = batch * p.strideB;
  let K4 = p.K / 4u;
  if (!TRANS_A) {
    let r0 = aBase + min(m0, p.M - 1u) * p.lda;
    let r1 = aBase + min(m0 + 1u, p.M - 1u) * p.lda;
    let r2 = aBase + min(m0 + 2u, p.M - 1u) * p.lda;
    let r3 = aBase + min(m0 + 3u, p.M - 1u) * p.lda;
    if (!TRANS_B) {
      // NN: B rows k..k+3 at column block n0/4; acc[i] += Bk * a_i (sum over k of a_ik * B[k, :]).
      var bi = bBase + min(n0 / 4u, p.ldb - 1u);
      let step = p.ldb;
      for (var k4 = 0u; k4 < K4; k4++) {
        let bm = mat4x4<f32>(b[bi], b[bi + step], b[bi + 2u * step], b[bi + 3u * step]);
        bi += 4u * step;
        acc[0] += bm * a[r0 + k4];
        acc[1] += bm * a[r1 + k4];
        acc[2] += bm * a[r2 + k4];
        acc[3] += bm * a[r3 + k4];
      }
    } else {
      // NT: rows of B are columns of C; a_i * Bm = (dot(a_i, b_0), ..., dot(a_i, b_3)).
      let c0 = bBase + min(n0, p.N - 1u) * p.ldb;
      let c1 = bBase + min(n0 + 1u, p.N - 1u) * p.ldb;
      let c2 = bBase + min(n0 + 2u, p.N - 1u) * p.ldb;
      let c3 = bBase + min(n0 + 3u, p.N - 1u) * p.ldb;
      for (var k4 = 0u; k4 < K4; k4++) {
        let bm = mat4x4<f32>(b[c0 + k4], b[c1 + k4], b[c2 + k4], b[c3 + k4]);
        acc[0] += a[r0 + k4] * bm;
        acc[1] += a[r1 + k4] * bm;
        acc[2] += a[r2 + k4] * bm;
        acc[3] += a[r3 + k4] * bm;
      }
    }
  } else {
    let ai0 = aBase + min(m0 / 4u, p.lda - 1u);
    if (!TRANS_B) {
      // TN (weight gradients): outer products of A[k, m0..m0+3] and B[k, n0..n0+3]; any K.
      var ai = ai0;
      var bi = bBase + min(n0 / 4u, p.ldb - 1u);
      for (var k = 0u; k < p.K; k++) {
        let av = a[ai];
        let bv = b[bi];
        ai += p.lda;
        bi += p.ldb;
        acc[0] += av.x * bv;
        acc[1] += av.y * bv;
        acc[2] += av.z * bv;
        acc[3] += av.w * bv;
      }
    } else {
      // TT: transpose the 4x4 block of A so that row i is a vec4 along k, then as in NT.
      let c0 = bBase + min(n0, p.N - 1u) * p.ldb;
      let c1 = bBase + min(n0 + 1u, p.N - 1u) * p.ldb;
      let c2 = bBase + min(n0 + 2u, p.N - 1u) * p.ldb;
      let c3 = bBase + min(n0 + 3u, p.N - 1u) * p.ldb;
      var ai = ai0;
      let step = p.lda;
      for (var k4 = 0u; k4 < K4; k4++) {
        let at = transpose(mat4x4<f32>(a[ai], a[ai + step], a[ai + 2u * step], a[ai + 3u * step]));
        ai += 4u * step;
        let bm = mat4x4<f32>(b[c0 + k4], b[c1 + k4], b[c2 + k4], b[c3 + k4]);
        acc[0] += at[0] * bm;
        acc[1] += at[1] * bm;
        acc[2] += at[2] * bm;
        acc[3] += at[3] * bm;
      }
    }
  }
  return acc;
}

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit); the same approximation as
// kernels/elementwise.wgsl so fused and unfused GELU agree bit for bit.
fn erf_approx(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}

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
  if (m >= p.M) { return; }
  let i = base + m * p.N + n0;
  let nc = min(4u, p.N - n0);
  out[i] = epi(row.x, n0);
  if (nc > 1u) { out[i + 1u] = epi(row.y, n0 + 1u); }
  if (nc > 2u) { out[i + 2u] = epi(row.z, n0 + 2u); }
  if (nc > 3u) { out[i + 3u] = epi(row.w, n0 + 3u); }
}

fn store_acc(m: u32, n0: u32, base: u32, row: vec4<f32>) {
  if (m >= p.M) { return; }
  let i = base + m * p.N + n0;
  let nc = min(4u, p.N - n0);
  out[i] += epi(row.x, n0);
  if (nc > 1u) { out[i + 1u] += epi(row.y, n0 + 1u); }
  if (nc > 2u) { out[i + 2u] += epi(row.z, n0 + 2u); }
  if (nc > 3u) { out[i + 3u] += epi(row.w, n0 + 3u); }
}

fn store_gelu(m: u32, n0: u32, base: u32, row: vec4<f32>) {
  if (m >= p.M) { return; }
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
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let acc = tile(m0, n0, gid.z);
  let base = gid.z * p.strideC;
  store_main(m0, n0, base, acc[0]);
  store_main(m0 + 1u, n0, base, acc[1]);
  store_main(m0 + 2u, n0, base, acc[2]);
  store_main(m0 + 3u, n0, base, acc[3]);
}

@compute @workgroup_size(WG_X, WG_Y)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let acc = tile(m0, n0, gid.z);
  let base = gid.z * p.strideC;
  store_acc(m0, n0, base, acc[0]);
  store_acc(m0 + 1u, n0, base, acc[1]);
  store_acc(m0 + 2u, n0, base, acc[2]);
  store_acc(m0 + 3u, n0, base, acc[3]);
}

@compute @workgroup_size(WG_X, WG_Y)
fn gelu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let acc = tile(m0, n0, gid.z);
  let base = gid.z * p.strideC;
  store_gelu(m0, n0, base, acc[0]);
  store_gelu(m0 + 1u, n0, base, acc[1]);
  store_gelu(m0 + 2u, n0, base, acc[2]);
  store_gelu(m0 + 3u, n0, base, acc[3]);
}
