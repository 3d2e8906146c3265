// Symmetric CLIP loss of one modality pair from the raw similarities G = a b^T [n, n]
// (a, b L2-normalised, identity labels):
//   S = s G with s = exp(logit_scale[0]) (or a fixed s),
//   loss = (CE(S, I) + CE(S^T, I)) / 2 = 1/(2n) sum_i (lse_row_i + lse_col_i - 2 S_ii),
//   dS   = grad_scale/(2n) (softmax_row(S) + softmax_col(S) - 2 I),
//   dG   = s dS  (the caller turns it into da = dG b, db = dG^T a),
//   dlogit_scale = sum_ij dS_ij S_ij  (since dS_ij/dlogit_scale = S_ij).
// col_lse: one thread per column walks down the rows (adjacent threads read adjacent
// addresses). rows: one workgroup per row, online (max, sum exp) as in loss_ce.wgsl, then
// dG and per-row partial sums part[i] = (loss term, dlogit_scale term), finished by
// loss_reduce.wgsl.

override WG: u32 = 256; // power of two; smaller on software adapters

struct Params {
  n: u32,
  row: u32,        // col_lse: threads per grid row; rows: workgroups per grid row
  use_fixed: u32,
  _pad: u32,
  s_fixed: f32,
  coef: f32,       // grad_scale / (2 n)
  _pad1: f32,
  _pad2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> logit_scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> col_lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

fn scale() -> f32 {
  return select(exp(logit_scale[0]), p.s_fixed, p.use_fixed != 0u);
}

fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  if (s1 == 0.0) { return vec2<f32>(m2, s2); }
  if (s2 == 0.0) { return vec2<f32>(m1, s1); }
  let m = max(m1, m2);
  return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

@compute @workgroup_size(256)
fn col_lse_main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x + gid.y * p.row;
  if (j >= p.n) { return; }
  let s = scale();
  var m = -3.4028235e38;
  var acc = 0.0;
  for (var i = 0u; i < p.n; i++) {
    let x = s * g[i * p.n + j];
    if (x > m) {
      acc = acc * exp(m - x) + 1.0;
      m = x;
    } else {
      acc += exp(x - m);
    }
  }
  col_lse[j] = m + log(acc);
}

@compute @workgroup_size(WG)
fn rows_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * p.row;
  if (i >= p.n) { return; } // uniform per workgroup
  let s = scale();
  let base = i * p.n;
  var m = -3.4028235e38;
  var acc = 0.0;
  for (var j = lid; j < p.n; j += WG) {
    let x = s * g[base + j];
    if (x > m) {
      acc = acc * exp(m - x) + 1.0;
      m = x;
    } else {
      acc += exp(x - m);
    }
  }
  red_m[lid] = m;
  red_s[lid] = acc;
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
  workgroupBarrier(); // everyone has read red_m[0] / red_s[0] before red_s is reused
  var dls = 0.0;
  for (var j = lid; j < p.n; j += WG) {
    let x = s * g[base + j];
    let ds = p.coef * (exp(x - lse) + exp(x - col_lse[j]) - select(0.0, 2.0, j == i));
    dg[base + j] = s * ds;
    dls += ds * x;
  }
  red_s[lid] = dls;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (lid < w) { red_s[lid] += red_s[lid + w]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    part[2u * i] = lse + col_lse[i] - 2.0 * s * g[base + i];
    part[2u * i + 1u] = red_s[0];
  }
}
