// Cross-entropy over rows of logits [rows, cols] with integer targets, mean over rows.
// One workgroup per row (grid folded to 2-D: r = wid.x + wid.y * p.row_groups):
//   pass 1: each thread keeps an online (max, sum exp) over a strided slice of the row,
//           then a tree reduction merges the pairs -> lse (numerically stable for any range);
//   pass 2: dlogits = (softmax - onehot(target)) * inv_n, row_loss[r] = lse - logits[target].
// The mean over rows is a separate single-workgroup reduction (loss_reduce.wgsl).

override WG: u32 = 256; // power of two; smaller on software adapters

struct Params { rows: u32, cols: u32, row_groups: u32, inv_n: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_loss: array<f32>;

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

// Merges two (max, sum of exp(x - max)) pairs; an empty pair has s == 0.
fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  if (s1 == 0.0) { return vec2<f32>(m2, s2); }
  if (s2 == 0.0) { return vec2<f32>(m1, s1); }
  let m = max(m1, m2);
  return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * p.row_groups;
  if (r >= p.rows) { return; } // uniform: the whole workgroup leaves together
  let base = r * p.cols;
  var m = -3.4028235e38;
  var s = 0.0;
  for (var j = lid; j < p.cols; j += WG) {
    let x = logits[base + j];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  red_m[lid] = m;
  red_s[lid] = s;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (lid < w) {
      let q = merge(red_m[lid], red_s[lid], red_m[lid + w], red_s[lid + w]);
      red_m[lid] = q.x;
      red_s[lid] = q.y;
    }
    workgroupBarrier();
  }
  let lse = red_m[0] + log(red_s[0]);
  // Out-of-range targets are clamped (the CPU reference throws instead).
  let t = u32(clamp(targets[r], 0, i32(p.cols) - 1));
  for (var j = lid; j < p.cols; j += WG) {
    let prob = exp(logits[base + j] - lse);
    dlogits[base + j] = (prob - select(0.0, 1.0, j == t)) * p.inv_n;
  }
  if (lid == 0u) { row_loss[r] = lse - logits[base + t]; }
}
