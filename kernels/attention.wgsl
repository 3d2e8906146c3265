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

// #include "attention_common.wgsl"

@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

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
