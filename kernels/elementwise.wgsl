// Elementwise ops over flat f32 arrays. One thread per element; 2-D grid so that
// arrays larger than 65535 * 256 elements still fit the dispatch limits.
// add:    out = a + b
// axpy:   out = out + alpha * a          (gradient accumulation, residuals)
// scale:  out = alpha * a
// gelu / gelu_backward: exact erf form, as timm and HF BERT use.

struct Params { n: u32, alpha: f32, row: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn index(gid: vec3<u32>) -> u32 { return gid.x + gid.y * p.row; }

@compute @workgroup_size(256)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index(gid);
  if (i >= p.n) { return; }
  out[i] = out[i] + p.alpha * a[i];
}

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index(gid);
  if (i >= p.n) { return; }
  out[i] = p.alpha * a[i];
}

// #include "erf.wgsl"

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index(gid);
  if (i >= p.n) { return; }
  let x = a[i];
  out[i] = 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752));
}
