// Row softmax backward: dx = y * (dy - sum_c y * dy). One workgroup per row.

override WG: u32 = 64; // power of two, <= 256

struct Params { n: u32, c: u32, gx: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// #include "wg_sum.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * p.gx;
  if (row >= p.n) { return; }
  let lid = lid3.x;
  let base = row * p.c;
  var s = 0.0;
  for (var i = lid; i < p.c; i += WG) { s += y[base + i] * dy[base + i]; }
  let d = wg_sum(s, lid);
  for (var i = lid; i < p.c; i += WG) { dx[base + i] = y[base + i] * (dy[base + i] - d); }
}
