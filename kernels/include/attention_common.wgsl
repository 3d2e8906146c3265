// The header shared by the three attention kernels (attention.wgsl, attention_dq.wgsl,
// attention_dkdv.wgsl): pipeline constants, parameters, the inputs every pass reads (bindings 0-4;
// each kernel declares its own outputs from binding 5), and the dropout keep factor.
override WG: u32 = 64;
override HAS_MASK: bool = false;
override HAS_DROPOUT: bool = false;
const MAXD4: u32 = 32u;              // head dim up to 128
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

// #include "drop_hash.wgsl"

// Dropout keep factor z_ij / (1-p) of (batch b, head h, query i, key j): kept when
// drop_hash(seed, ((boff + b) * heads + h) * T + i, j) >= thr (src/ops/dropout.ts mirrors it).
fn drop_factor(b: u32, h: u32, i: u32, j: u32) -> f32 {
  if (!HAS_DROPOUT) { return 1.0; }
  let r = ((p.boff + b) * p.heads + h) * p.t + i;
  return select(0.0, p.dscale, drop_hash(p.seed, r, j) >= p.thr);
}
