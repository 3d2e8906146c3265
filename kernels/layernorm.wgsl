// LayerNorm over the last dim of x [N,C]: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps),
// var biased (as torch). One workgroup per row; WG threads stride over the channels and combine partial
// sums in workgroup memory. The mean is found first and the variance from (x - mean)^2 in a second pass,
// which is stable for rows with a large offset (the one-pass E[x^2] - E[x]^2 form is not).
// Rows are folded into a 2-D grid (row = wid.x + wid.y * gx) so N may exceed 65535.

override WG: u32 = 64; // power of two, <= 256

struct Params { n: u32, c: u32, eps: f32, gx: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd_out: array<f32>;

// #include "wg_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * p.gx;
  if (row >= p.n) { return; } // uniform per workgroup, so the barriers below stay uniform
  let lid = lid3.x;
  let base = row * p.c;
  var s = 0.0;
  for (var i = lid; i < p.c; i += WG) { s += x[base + i]; }
  let mu = wg_sum(s, lid) / f32(p.c);
  var q = 0.0;
  for (var i = lid; i < p.c; i += WG) {
    let d = x[base + i] - mu;
    q += d * d;
  }
  let rs = inverseSqrt(wg_sum(q, lid) / f32(p.c) + p.eps);
  for (var i = lid; i < p.c; i += WG) {
    y[base + i] = (x[base + i] - mu) * rs * gamma[i] + beta[i];
  }
  if (lid == 0u) {
    mean_out[row] = mu;
    rstd_out[row] = rs;
  }
}
