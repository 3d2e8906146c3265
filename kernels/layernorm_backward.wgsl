// LayerNorm backward, input gradient. With xhat = (x - mean) * rstd and g = dy * gamma:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
// One workgroup per row, like the forward.

override WG: u32 = 64; // power of two, <= 256

struct Params { n: u32, c: u32, gx: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> mean_in: array<f32>;
@group(0) @binding(5) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

var<workgroup> red: array<vec2<f32>, 256>;

fn wg_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wid.x + wid.y * p.gx;
  if (row >= p.n) { return; }
  let lid = lid3.x;
  let base = row * p.c;
  let mu = mean_in[row];
  let rs = rstd_in[row];
  var acc = vec2<f32>(0.0);
  for (var i = lid; i < p.c; i += WG) {
    let g = dy[base + i] * gamma[i];
    acc += vec2<f32>(g, g * (x[base + i] - mu) * rs);
  }
  let m = wg_sum2(acc, lid) / f32(p.c);
  for (var i = lid; i < p.c; i += WG) {
    let g = dy[base + i] * gamma[i];
    let xh = (x[base + i] - mu) * rs;
    dx[base + i] = rs * (g - m.x - xh * m.y);
  }
}
