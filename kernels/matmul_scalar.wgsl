// Register-blocked matmul with scalar loads, for operands whose contiguous dimension is not a
// multiple of 4 (matmul_vec4.wgsl handles the rest and is the fast path). Same parameters, entry
// points and epilogues as matmul_vec4.wgsl (keep the two in sync); strides here are in floats.
// Each thread computes a 4x4 block of C: per k, 4 + 4 loads feed 16 FMAs.

struct Params {
  M: u32, N: u32, K: u32, alpha: f32,
  lda: u32, ldb: u32, strideA: u32, strideB: u32,  // in floats
  strideC: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
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
  // Element (m, k) of op(A) is a[aBase + m * sam + k * sak]; (k, n) of op(B) is b[bBase + k * sbk + n * sbn].
  let sam = select(p.lda, 1u, TRANS_A);
  let sak = select(1u, p.lda, TRANS_A);
  let sbk = select(p.ldb, 1u, TRANS_B);
  let sbn = select(1u, p.ldb, TRANS_B);
  let aBase = batch * p.strideA;
  let bBase = batch * p.strideB;
  var a0 = aBase + min(m0, p.M - 1u) * sam;
  var a1 = aBase + min(m0 + 1u, p.M - 1u) * sam;
  var a2 = aBase + min(m0 + 2u, p.M - 1u) * sam;
  var a3 = aBase + min(m0 + 3u, p.M - 1u) * sam;
  var b0 = bBase + min(n0, p.N - 1u) * sbn;
  var b1 = bBase + min(n0 + 1u, p.N - 1u) * sbn;
  var b2 = bBase + min(n0 + 2u, p.N - 1u) * sbn;
  var b3 = bBase + min(n0 + 3u, p.N - 1u) * sbn;
  for (var k = 0u; k < p.K; k++) {
    let av = vec4<f32>(a[a0], a[a1], a[a2], a[a3]);
    let bv = vec4<f32>(b[b0], b[b1], b[b2], b[b3]);
    a0 += sak;
    a1 += sak;
    a2 += sak;
    a3 += sak;
    b0 += sbk;
    b1 += sbk;
    b2 += sbk;
    b3 += sbk;
    acc[0] += av.x * bv;
    acc[1] += av.y * bv;
    acc[2] += av.z * bv;
    acc[3] += av.w * bv;
  }
  return acc;
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
