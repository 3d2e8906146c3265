// Mean pooling over the token axis and its backward (src read, dst written).
//   mean_pool:          src x [B,T,C] -> dst [B,C], one thread per (b, c), tokens summed in order
//   mean_pool_backward: src dy [B,C] -> dst dx [B,T,C] = dy / T, one thread per element

struct Params { b: u32, t: u32, c: u32, row: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn mean_pool(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.row;
  if (e >= p.b * p.c) { return; }
  let b = e / p.c;
  let c = e % p.c;
  var s = 0.0;
  for (var t = 0u; t < p.t; t++) { s += src[(b * p.t + t) * p.c + c]; }
  dst[e] = s / f32(p.t);
}

@compute @workgroup_size(256)
fn mean_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.row;
  if (e >= p.b * p.t * p.c) { return; }
  let b = e / (p.t * p.c);
  let c = e % p.c;
  dst[e] = src[b * p.c + c] / f32(p.t);
}
