// Flat reductions over an f32 array: sum, sum of squares and max. Each workgroup of 256 threads
// reduces one block of 1024 elements: each thread combines 4 strided elements (coalesced
// loads), then a shared-memory tree halves 256 -> 1. The host repeats the pass on the partials
// until one value is left, so the result is a tree sum (error ~ log n ulps, not n ulps).
// Workgroups are folded into 2-D (index = wid.x + wid.y * nx) for more than 65535 blocks.
// `scale` multiplies the result (1/n on the last pass of a mean); partial i is written to
// out[outOffset + i] so several tensors can share one partials buffer (global grad norm).

struct Params { n: u32, scale: f32, nx: u32, outOffset: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
const ITEMS: u32 = 4u;
var<workgroup> sh: array<f32, 256>;

fn neg_inf() -> f32 { return bitcast<f32>(0xff800000u); }

fn combine(a: f32, b: f32, is_max: bool) -> f32 { return select(a + b, max(a, b), is_max); }

// kind 0: sum, 1: sum of squares, 2: max.
fn reduce_block(wid: vec3<u32>, lid: u32, kind: u32) {
  let block = wid.x + wid.y * p.nx;
  let is_max = kind == 2u;
  let base = block * WG * ITEMS;
  var acc = select(0.0, neg_inf(), is_max);
  for (var j = 0u; j < ITEMS; j++) {
    let i = base + j * WG + lid;
    if (i < p.n) {
      let v = x[i];
      acc = combine(acc, select(v, v * v, kind == 1u), is_max);
    }
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { sh[lid] = combine(sh[lid], sh[lid + s], is_max); }
    workgroupBarrier();
  }
  // Blocks past the end (2-D folding) write nothing; the bound is uniform per workgroup.
  if (lid == 0u && base < p.n) { out[p.outOffset + block] = p.scale * sh[0]; }
}

@compute @workgroup_size(256)
fn sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  reduce_block(wid, lid, 0u);
}

@compute @workgroup_size(256)
fn sumsq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  reduce_block(wid, lid, 1u);
}

@compute @workgroup_size(256)
fn max_all(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  reduce_block(wid, lid, 2u);
}
