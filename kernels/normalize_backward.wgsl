// Backward of the row L2 normalisation (see normalize.wgsl), with n = ||x|| saved by the forward:
//   n > eps:  dx = (dy - y * sum(y * dy)) / n
//   n <= eps: dx = dy / eps   (the clamp makes y linear in x there)

override WG: u32 = 64; // power of two, <= 256
const EPS: f32 = 1e-12;

struct Params { n: u32, c: u32, gx: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> norm: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// #include "wg_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * p.gx;
  if (row >= p.n) { return; }
  let lid = lid3.x;
  let base = row * p.c;
  let n = norm[row];
  var s = 0.0;
  for (var i = lid; i < p.c; i += WG) { s += y[base + i] * dy[base + i]; }
  let d = select(0.0, wg_sum(s, lid), n > EPS);
  let inv = 1.0 / max(n, EPS);
  for (var i = lid; i < p.c; i += WG) { dx[base + i] = (dy[base + i] - y[base + i] * d) * inv; }
}
