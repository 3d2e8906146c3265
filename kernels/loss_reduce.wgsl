// Final reduction of per-row loss terms, one workgroup: x is [rows, cols] (cols <= 4),
// out[c] = scale[c] * sum_r x[r * cols + c]. Used for the mean cross-entropy and for
// CLIP loss (col 0: loss terms, col 1: d loss / d logit_scale terms).

struct Params { rows: u32, cols: u32, _pad0: u32, _pad1: u32, scale: vec4<f32> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = vec4<f32>(0.0);
  for (var r = lid; r < p.rows; r += 256u) {
    for (var c = 0u; c < p.cols; c++) { acc[c] += x[r * p.cols + c]; }
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w /= 2u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
  if (lid < p.cols) { out[lid] = p.scale[lid] * red[0][lid]; }
}
