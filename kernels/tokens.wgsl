// Token-axis and column bookkeeping for the encoders (src read, dst written; one thread per dst element,
// so every result has a single writer and sums run in a fixed order):
//   prepend_backward_dx:  dy [B,T,C] (T = P+1) -> dx [B,P,C] = dy[:, 1:, :]
//   prepend_backward_tok: dy [B,T,C] -> dtok [C] = sum_b dy[b, 0, :]
//   select_token:         x [B,T,C] -> [B,C] = x[:, sel, :]
//   select_backward:      dy [B,C] -> [B,T,C], dy at token sel and zero elsewhere
//   sum_batch:            x [B,T,C] -> [T,C] = sum_b x[b]
//   slice_columns:        x [N,C] -> [N,W] = x[:, start:start+W]
//   copy_columns:         src [N,W] -> dst[:, start:start+W] (+= when acc = 1), dst [N,C] in place

struct Params { n: u32, row: u32, b: u32, t: u32, c: u32, w: u32, start: u32, acc: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn index(gid: vec3<u32>) -> u32 { return gid.x + gid.y * p.row; }

@compute @workgroup_size(256)
fn prepend_backward_dx(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  let pc = (p.t - 1u) * p.c;
  let b = e / pc;
  dst[e] = src[b * p.t * p.c + p.c + e % pc];
}

@compute @workgroup_size(256)
fn prepend_backward_tok(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = index(gid);
  if (c >= p.n) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.b; b++) { s += src[b * p.t * p.c + c]; }
  dst[c] = s;
}

@compute @workgroup_size(256)
fn select_token(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  let b = e / p.c;
  dst[e] = src[(b * p.t + p.start) * p.c + e % p.c];
}

@compute @workgroup_size(256)
fn select_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  let b = e / (p.t * p.c);
  let t = (e / p.c) % p.t;
  dst[e] = select(0.0, src[b * p.c + e % p.c], t == p.start);
}

@compute @workgroup_size(256)
fn sum_batch(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.b; b++) { s += src[b * p.t * p.c + e]; }
  dst[e] = s;
}

@compute @workgroup_size(256)
fn slice_columns(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  let r = e / p.w;
  dst[e] = src[r * p.c + p.start + e % p.w];
}

@compute @workgroup_size(256)
fn copy_columns(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  let r = e / p.w;
  let o = r * p.c + p.start + e % p.w;
  dst[o] = select(src[e], dst[o] + src[e], p.acc == 1u);
}
