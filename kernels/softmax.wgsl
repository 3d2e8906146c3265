// Row softmax of x [N,C] and its backward dx = y * (dy - sum(y * dy)). One workgroup per row; the
// row maximum is subtracted before exp so large logits do not overflow.
// The backward lives in softmax_backward.wgsl.

override WG: u32 = 64; // power of two, <= 256

struct Params { n: u32, c: u32, gx: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, 256>;

fn wg_reduce(v: f32, lid: u32, use_max: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), use_max);
    }
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
  var m = -3.40282347e38;
  for (var i = lid; i < p.c; i += WG) { m = max(m, a[base + i]); }
  m = wg_reduce(m, lid, true);
  var s = 0.0;
  for (var i = lid; i < p.c; i += WG) {
    let e = exp(a[base + i] - m);
    out[base + i] = e;
    s += e;
  }
  let inv = 1.0 / wg_reduce(s, lid, false);
  // Each thread rescales exactly the elements it wrote, so no barrier is needed before this loop.
  for (var i = lid; i < p.c; i += WG) { out[base + i] = out[base + i] * inv; }
}
