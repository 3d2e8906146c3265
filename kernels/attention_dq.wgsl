// Attention backward, step 2: dq. One thread per query row i of one (batch, head); it streams over the
// keys and recomputes P_ij = exp(s_ij - lse_i) from q and k (nothing of size T*T is stored):
//   dP_ij = z_ij/(1-p) dout_i . v_j (dropout factor 1 without dropout),  dS_ij = P_ij (dP_ij - delta_i),  dq_i = scale * sum_j dS_ij k_j
// Each thread owns its output row, so the result is deterministic without atomics.

override WG: u32 = 64;
override HAS_MASK: bool = false;
override HAS_DROPOUT: bool = false;
const MAXD4: u32 = 32u;
const F32_MIN: f32 = -3.40282347e38;

struct Params {
  t: u32, c4: u32, d4: u32, heads: u32, scale: f32,
  seed: u32, thr: u32, boff: u32, dscale: f32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;

// #include "drop_hash.wgsl"

// Dropout keep factor z_ij / (1-p) of (batch b, head h, query i, key j): kept when
// drop_hash(seed, ((boff + b) * heads + h) * T + i, j) >= thr (src/ops/dropout.ts mirrors it).
fn drop_factor(b: u32, h: u32, i: u32, j: u32) -> f32 {
  if (!HAS_DROPOUT) { return 1.0; }
  let r = ((p.boff + b) * p.heads + h) * p.t + i;
  return select(0.0, p.dscale, drop_hash(p.seed, r, j) >= p.thr);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wid.x * WG + lid.x;
  if (i >= p.t) { return; }
  let bh = wid.y;
  let b = bh / p.heads;
  let h = bh % p.heads;
  let qo = (b * p.t + i) * p.c4 + h * p.d4;
  var qr: array<vec4<f32>, MAXD4>;
  var g: array<vec4<f32>, MAXD4>;
  var acc: array<vec4<f32>, MAXD4>;
  for (var d = 0u; d < p.d4; d++) {
    qr[d] = q[qo + d];
    g[d] = dout[qo + d];
    acc[d] = vec4<f32>(0.0);
  }
  let r = bh * p.t + i;
  let lse = stats[2u * r];
  let delta = stats[2u * r + 1u];
  for (var j = 0u; j < p.t; j++) {
    let ko = (b * p.t + j) * p.c4 + h * p.d4;
    var sv = vec4<f32>(0.0);
    var dpv = vec4<f32>(0.0);
    for (var d = 0u; d < p.d4; d++) {
      sv += qr[d] * k[ko + d];
      dpv += g[d] * v[ko + d];
    }
    var s = (sv.x + sv.y + sv.z + sv.w) * p.scale;
    if (HAS_MASK) { s += (1.0 - mask[b * p.t + j]) * F32_MIN; }
    let pij = exp(s - lse);
    let ds = pij * ((dpv.x + dpv.y + dpv.z + dpv.w) * drop_factor(b, h, i, j) - delta);
    for (var d = 0u; d < p.d4; d++) { acc[d] += ds * k[ko + d]; }
  }
  for (var d = 0u; d < p.d4; d++) { dq[qo + d] = acc[d] * p.scale; }
}
