// Row preparation for cosine top-k search, over x [rows, d] (f32, row-major).
// inv_norm: out[r] = 1 / max(||x_r||, 1e-12), like F.normalize, so a zero row scores 0
//           against everything instead of NaN.
// pad:      out [rows, d_pad] = x with zero columns appended (d_pad = d rounded up to 4) so
//           the scan kernel can use vec4 loads; zeros change neither dots nor norms.

struct Params { rows: u32, d: u32, d_pad: u32, row: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn inv_norm(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x + gid.y * p.row;
  if (r >= p.rows) { return; }
  var s = 0.0;
  let base = r * p.d;
  for (var j = 0u; j < p.d; j++) {
    let v = x[base + j];
    s += v * v;
  }
  out[r] = 1.0 / max(sqrt(s), 1e-12);
}

@compute @workgroup_size(256)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.rows * p.d_pad) { return; }
  let r = i / p.d_pad;
  let c = i % p.d_pad;
  out[i] = select(0.0, x[r * p.d + c], c < p.d);
}
