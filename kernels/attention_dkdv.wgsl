// Attention backward, step 3: dk and dv. One thread per key row j of one (batch, head); it streams over
// the queries, recomputing P_ij = exp(s_ij - lse_i) with the saved lse and delta of each query:
//   dv_j = sum_i z_ij P_ij dout_i,  dS_ij = P_ij (z_ij dout_i . v_j - delta_i)  (z_ij = keep/(1-p), 1 w/o dropout),  dk_j = scale * sum_i dS_ij q_i
// Recomputing the scores here instead of sharing them with the dq kernel costs one more T*T*D pass but
// needs no atomics and no T*T buffer, and every output row has a single writer (deterministic).

// #include "attention_common.wgsl"

@group(0) @binding(5) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let j = wid.x * WG + lid.x;
  if (j >= p.t) { return; }
  let bh = wid.y;
  let b = bh / p.heads;
  let h = bh % p.heads;
  let ko = (b * p.t + j) * p.c4 + h * p.d4;
  var kr: array<vec4<f32>, MAXD4>;
  var vr: array<vec4<f32>, MAXD4>;
  var gk: array<vec4<f32>, MAXD4>;
  var gv: array<vec4<f32>, MAXD4>;
  for (var d = 0u; d < p.d4; d++) {
    kr[d] = k[ko + d];
    vr[d] = v[ko + d];
    gk[d] = vec4<f32>(0.0);
    gv[d] = vec4<f32>(0.0);
  }
  var madd = 0.0;
  if (HAS_MASK) { madd = (1.0 - mask[b * p.t + j]) * F32_MIN; }
  for (var i = 0u; i < p.t; i++) {
    let qo = (b * p.t + i) * p.c4 + h * p.d4;
    let r = bh * p.t + i;
    var sv = vec4<f32>(0.0);
    var dpv = vec4<f32>(0.0);
    for (var d = 0u; d < p.d4; d++) {
      sv += q[qo + d] * kr[d];
      dpv += dout[qo + d] * vr[d];
    }
    let s = (sv.x + sv.y + sv.z + sv.w) * p.scale + madd;
    let pij = exp(s - stats[2u * r]);
    let z = drop_factor(b, h, i, j);
    let ds = pij * ((dpv.x + dpv.y + dpv.z + dpv.w) * z - stats[2u * r + 1u]);
    let pz = pij * z;
    for (var d = 0u; d < p.d4; d++) {
      gv[d] += pz * dout[qo + d];
      gk[d] += ds * q[qo + d];
    }
  }
  for (var d = 0u; d < p.d4; d++) {
    dk[ko + d] = gk[d] * p.scale;
    dv[ko + d] = gv[d];
  }
}
