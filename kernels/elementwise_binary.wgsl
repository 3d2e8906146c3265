// Binary elementwise ops over flat f32 arrays.
// add:            out = a + b
// gelu_backward:  out = dy * gelu'(x), with a = x and b = dy (exact erf form)

struct Params { n: u32, alpha: f32, row: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(gid: vec3<u32>) -> u32 { return gid.x + gid.y * p.row; }

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index(gid);
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}

// #include "erf.wgsl"

@compute @workgroup_size(256)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index(gid);
  if (i >= p.n) { return; }
  let x = a[i];
  let cdf = 0.5 * (1.0 + erf_approx(x * 0.70710678118654752));
  let pdf = 0.3989422804014327 * exp(-0.5 * x * x);
  out[i] = b[i] * (cdf + x * pdf);
}
