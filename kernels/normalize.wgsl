// L2 normalisation of the rows of x [N,C], as torch.nn.functional.normalize(p=2, eps=1e-12):
//   y = x / max(||x||, eps)   (an all-zero row stays zero instead of becoming NaN)
// Backward, with n = ||x||:
//   n > eps:  dx = (dy - y * sum(y * dy)) / n
//   n <= eps: dx = dy / eps   (the clamp makes y linear in x there)
// One workgroup per row. The backward lives in normalize_backward.wgsl.

override WG: u32 = 64; // power of two, <= 256
const EPS: f32 = 1e-12;

struct Params { n: u32, c: u32, gx: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> norm: array<f32>;

// #include "wg_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * p.gx;
  if (row >= p.n) { return; }
  let lid = lid3.x;
  let base = row * p.c;
  var s = 0.0;
  for (var i = lid; i < p.c; i += WG) { s += x[base + i] * x[base + i]; }
  let n = sqrt(wg_sum(s, lid));
  let inv = 1.0 / max(n, EPS);
  for (var i = lid; i < p.c; i += WG) { y[base + i] = x[base + i] * inv; }
  if (lid == 0u) { norm[row] = n; }
}

