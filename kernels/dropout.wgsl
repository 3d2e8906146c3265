// Inverted dropout with a stateless keep mask: element (row, col) of x viewed as [N, C] is kept when
// drop_hash(seed, rowOffset + row, col) >= thr (thr = floor(p * 2^32)), and kept values are scaled by
// 1/(1-p). The mask is regenerated from the hash, never stored, so the forward (y = mask * x / (1-p)) and
// the backward (dx = mask * dy / (1-p)) are the same kernel, and src/ops/dropout.ts reproduces it bit for
// bit on the CPU (u32 arithmetic only).

struct Params { n: u32, cols: u32, row: u32, row_offset: u32, seed: u32, thr: u32, scale: f32, _p0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// #include "drop_hash.wgsl"

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let r = i / p.cols;
  let c = i - r * p.cols;
  var v = 0.0;
  if (drop_hash(p.seed, p.row_offset + r, c) >= p.thr) { v = x[i] * p.scale; }
  y[i] = v;
}
