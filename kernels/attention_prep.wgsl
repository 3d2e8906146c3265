// Attention backward, step 1: per query row, stats[2r] = lse and stats[2r+1] = delta = dout . out
// (the row sum of P * dP, computed the cheap way). Packing both into one buffer keeps the next two
// kernels within 8 storage bindings, the WebGPU default limit.

struct Params { t: u32, c4: u32, d4: u32, heads: u32, n: u32, row: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x + gid.y * p.row; // r = (b * heads + h) * T + i, the lse index
  if (r >= p.n) { return; }
  let i = r % p.t;
  let bh = r / p.t;
  let b = bh / p.heads;
  let h = bh % p.heads;
  let o = (b * p.t + i) * p.c4 + h * p.d4;
  var s = vec4<f32>(0.0);
  for (var d = 0u; d < p.d4; d++) { s += out[o + d] * dout[o + d]; }
  stats[2u * r] = lse[r];
  stats[2u * r + 1u] = s.x + s.y + s.z + s.w;
}
