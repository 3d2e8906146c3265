// Cosine top-k, scan stage: scores of a tile of queries against a range of keys of one key
// chunk, keeping a running top-k per query. Grid: x = query tile, y = key split.
// Thread (kj, qi) of a TK x TQ workgroup owns RQ = 4 queries (qi + r*TQ of the tile) and,
// per step, RK = 4 keys (kj + c*TK of the key tile): a 4 x 4 register block of dot products
// with vec4 loads, which beats shared-memory tiling on software adapters (loads are
// scalarised per lane there) and is fine on hardware for this memory-light kernel.
// Each thread keeps a sorted top-k for each of its queries; at the end the TK lists of a
// query are merged through workgroup memory and written to out[split, query, :].
// score = dot(q, k) * inv_norm(q) * inv_norm(k).

const RQ: u32 = 4u;
const RK: u32 = 4u;
const MAXK: u32 = 10u;

override TQ: u32 = 8u;
override TK: u32 = 8u;

struct Params {
  q: u32,            // number of queries
  kn: u32,           // number of keys in this chunk
  d4: u32,           // vec4s per row
  k: u32,            // results per query (<= MAXK)
  key_offset: u32,   // global index of this chunk's first key
  keys_per_split: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> keys: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> q_inv: array<f32>;
@group(0) @binding(4) var<storage, read> k_inv: array<f32>;
@group(0) @binding(5) var<storage, read_write> out_s: array<f32>;
@group(0) @binding(6) var<storage, read_write> out_i: array<i32>;

var<workgroup> sh_s: array<f32, TQ * TK * MAXK>;
var<workgroup> sh_i: array<i32, TQ * TK * MAXK>;

fn better(s: f32, i: i32, s2: f32, i2: i32) -> bool {
  return i >= 0 && (i2 < 0 || s > s2 || (s == s2 && i < i2));
}

var<private> bs: array<f32, RQ * MAXK>;
var<private> bi: array<i32, RQ * MAXK>;

// Inserts (s, i) into the sorted list r if it beats the current k-th entry.
fn insert(r: u32, s: f32, i: i32) {
  let o = r * MAXK;
  if (!better(s, i, bs[o + p.k - 1u], bi[o + p.k - 1u])) { return; }
  var j = p.k - 1u;
  loop {
    if (j == 0u) { break; }
    if (!better(s, i, bs[o + j - 1u], bi[o + j - 1u])) { break; }
    bs[o + j] = bs[o + j - 1u];
    bi[o + j] = bi[o + j - 1u];
    j -= 1u;
  }
  bs[o + j] = s;
  bi[o + j] = i;
}

@compute @workgroup_size(TK, TQ)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let kj = lid.x;
  let qi = lid.y;
  for (var j = 0u; j < RQ * MAXK; j++) {
    bs[j] = -3.4028235e38;
    bi[j] = -1;
  }
  var qrow: array<u32, RQ>;
  var qscale: array<f32, RQ>;
  for (var r = 0u; r < RQ; r++) {
    let q = min(wid.x * TQ * RQ + qi + r * TQ, p.q - 1u); // clamped; extra rows are not written
    qrow[r] = q * p.d4;
    qscale[r] = q_inv[q];
  }
  let k_begin = wid.y * p.keys_per_split;
  let k_end = min(k_begin + p.keys_per_split, p.kn);
  for (var kt = k_begin; kt < k_end; kt += TK * RK) {
    var krow: array<u32, RK>;
    for (var c = 0u; c < RK; c++) { krow[c] = min(kt + kj + c * TK, p.kn - 1u) * p.d4; }
    // acc[r][c]. Zeroed explicitly: wgpu/naga hoists a loop-local `var` to function entry and
    // zero-fills it only once, so an implicit initialiser would keep the previous tile's sums.
    var acc: array<vec4<f32>, RQ>;
    for (var r = 0u; r < RQ; r++) { acc[r] = vec4<f32>(0.0); }
    for (var t = 0u; t < p.d4; t++) {
      let k0 = keys[krow[0] + t];
      let k1 = keys[krow[1] + t];
      let k2 = keys[krow[2] + t];
      let k3 = keys[krow[3] + t];
      for (var r = 0u; r < RQ; r++) {
        let qv = queries[qrow[r] + t];
        acc[r] += vec4<f32>(dot(qv, k0), dot(qv, k1), dot(qv, k2), dot(qv, k3));
      }
    }
    for (var c = 0u; c < RK; c++) {
      let key = kt + kj + c * TK;
      if (key >= k_end) { continue; }
      let ks = k_inv[key];
      let gi = i32(p.key_offset + key);
      for (var r = 0u; r < RQ; r++) { insert(r, acc[r][c] * qscale[r] * ks, gi); }
    }
  }
  // Merge the TK per-thread lists of each query through workgroup memory.
  let base = (qi * TK + kj) * MAXK;
  for (var r = 0u; r < RQ; r++) {
    for (var j = 0u; j < p.k; j++) {
      sh_s[base + j] = bs[r * MAXK + j];
      sh_i[base + j] = bi[r * MAXK + j];
    }
    workgroupBarrier();
    let q = wid.x * TQ * RQ + qi + r * TQ;
    if (kj == 0u) {
      for (var t = 1u; t < TK; t++) {
        let o = (qi * TK + t) * MAXK;
        for (var j = 0u; j < p.k; j++) {
          // Lists are sorted: once one entry misses, the rest of that list does too.
          if (!better(sh_s[o + j], sh_i[o + j], bs[r * MAXK + p.k - 1u], bi[r * MAXK + p.k - 1u])) { break; }
          insert(r, sh_s[o + j], sh_i[o + j]);
        }
      }
      if (q < p.q) {
        let out = (wid.y * p.q + q) * p.k;
        for (var j = 0u; j < p.k; j++) {
          out_s[out + j] = bs[r * MAXK + j];
          out_i[out + j] = bi[r * MAXK + j];
        }
      }
    }
    workgroupBarrier();
  }
}
