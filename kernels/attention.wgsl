// Fused scaled-dot-product attention forward, flash-attention style: one thread per query row of one
// (batch, head); it streams over the keys with an online softmax (running max m, running sum l, output
// accumulator rescaled when m grows), so the [B,H,T,T] score matrix never exists in memory.
//   q, k, v, out: [B,T,C] viewed as vec4 (C = heads * D, head h in columns h*D .. h*D+D; D % 4 == 0)
//   mask: [B,T] key mask, 1 = attend, 0 = padding; HF BERT semantics: score += (1 - mask) * f32 min
//         (bound always; read only when HAS_MASK)
//   HAS_DROPOUT: attention-probability dropout; the normaliser l sums the undropped exponentials and
//         only the accumulation into acc is scaled by z_ij/(1-p).
//   lse:  [B,H,T] log-sum-exp of each query's scores, what the backward needs to rebuild P.
// Registers rather than workgroup tiles: on software adapters every storage load is scalarised per lane,
// so staging K/V through shared memory only adds work, while the rows a workgroup reads stay in cache.

override WG: u32 = 64;
override HAS_MASK: bool = false;
override HAS_DROPOUT: bool = false;
const MAXD4: u32 = 32u;           // head dim up to 128
const F32_MIN: f32 = -3.40282347e38; // torch.finfo(torch.float32).min

struct Params {
  t: u32, c4: u32, d4: u32, heads: u32, scale: f32,
  seed: u32, thr: u32, boff: u32, dscale: f32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

// #include "drop_hash.wgsl"

// Dropout keep factor z_ij / (1-p) of (batch b, head h, query i, key j): kept when
// drop_hash(seed, ((boff + b) * heads + h) * T + i, j) >= thr (src/ops/dropout.ts mirrors it).
fn drop_factor(b: u32, h: u32, i: u32, j: u32) -> f32 {
  if (!HAS_DROPOUT) { return 1.0; }
  let r = ((p.boff + b) * p.heads + h) * p.t + i;
  return select(0.0, p.dscale, drop_hash(p.seed, r, j) >= p.thr);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wid.x * WG + lid.x;
  if (i >= p.t) { return; }
  let bh = wid.y;
  let b = bh / p.heads;
  let h = bh % p.heads;
  let qo = (b * p.t + i) * p.c4 + h * p.d4;
  var qr: array<vec4<f32>, MAXD4>;
  var acc: array<vec4<f32>, MAXD4>;
  for (var d = 0u; d < p.d4; d++) {
    qr[d] = q[qo + d];
    acc[d] = vec4<f32>(0.0);
  }
  var m = F32_MIN;
  var l = 0.0;
  for (var j = 0u; j < p.t; j++) {
    let ko = (b * p.t + j) * p.c4 + h * p.d4;
    var dotv = vec4<f32>(0.0);
    for (var d = 0u; d < p.d4; d++) { dotv += qr[d] * k[ko + d]; }
    var s = (dotv.x + dotv.y + dotv.z + dotv.w) * p.scale;
    if (HAS_MASK) { s += (1.0 - mask[b * p.t + j]) * F32_MIN; }
    if (s > m) {
      let a = exp(m - s);
      l *= a;
      for (var d = 0u; d < p.d4; d++) { acc[d] *= a; }
      m = s;
    }
    let e = exp(s - m);
    l += e;
    let ez = e * drop_factor(b, h, i, j);
    for (var d = 0u; d < p.d4; d++) { acc[d] += ez * v[ko + d]; }
  }
  let inv = 1.0 / l;
  for (var d = 0u; d < p.d4; d++) { out[qo + d] = acc[d] * inv; }
  lse[bh * p.t + i] = m + log(l);
}
