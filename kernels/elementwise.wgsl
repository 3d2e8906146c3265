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

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit), since WGSL has no erf.
fn erf_approx(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = index(gid);
  if (i >= p.n) { return; }
  let x = a[i];
  out[i] = 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752));
}
