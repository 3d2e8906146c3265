// Attention backward, step 2: dq. One thread per query row i of one (batch, head); it streams over the
// keys and recomputes P_ij = exp(s_ij - lse_i) from q and k (nothing of size T*T is stored):
//   dP_ij = z_ij/(1-p) dout_i . v_j (dropout factor 1 without dropout),  dS_ij = P_ij (dP_ij - delta_i),  dq_i = scale * sum_j dS_ij k_j
// Each thread owns its output row, so the result is deterministic without atomics.

// #include "attention_common.wgsl"

@group(0) @binding(5) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;

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
