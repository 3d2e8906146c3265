// Cosine top-k, merge stage: one thread per query folds the nsplit partial lists of the
// current key chunk (topk_scan.wgsl) into the running top-k kept across chunks.
// best is [q, 2k] u32: k scores (f32 bits) then k key indices (i32 bits, -1 = empty), so the
// final result comes back in one read.

const MAXK: u32 = 10u;

struct Params { q: u32, k: u32, nsplit: u32, row: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part_s: array<f32>;
@group(0) @binding(2) var<storage, read> part_i: array<i32>;
@group(0) @binding(3) var<storage, read_write> best: array<u32>;

fn better(s: f32, i: i32, s2: f32, i2: i32) -> bool {
  return i >= 0 && (i2 < 0 || s > s2 || (s == s2 && i < i2));
}

var<private> bs: array<f32, MAXK>;
var<private> bi: array<i32, MAXK>;

fn insert(s: f32, i: i32) {
  var j = p.k - 1u;
  loop {
    if (j == 0u) { break; }
    if (!better(s, i, bs[j - 1u], bi[j - 1u])) { break; }
    bs[j] = bs[j - 1u];
    bi[j] = bi[j - 1u];
    j -= 1u;
  }
  bs[j] = s;
  bi[j] = i;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  if (q >= p.q) { return; }
  let b = q * 2u * p.k;
  for (var j = 0u; j < p.k; j++) {
    bs[j] = bitcast<f32>(best[b + j]);
    bi[j] = bitcast<i32>(best[b + p.k + j]);
  }
  for (var s = 0u; s < p.nsplit; s++) {
    let o = (s * p.q + q) * p.k;
    for (var j = 0u; j < p.k; j++) {
      let cs = part_s[o + j];
      let ci = part_i[o + j];
      if (!better(cs, ci, bs[p.k - 1u], bi[p.k - 1u])) { break; } // sorted list: the rest misses too
      insert(cs, ci);
    }
  }
  for (var j = 0u; j < p.k; j++) {
    best[b + j] = bitcast<u32>(bs[j]);
    best[b + p.k + j] = bitcast<u32>(bi[j]);
  }
}
