// Column sums of a row-major [rows, cols] array (bias gradients). Thread (c, g) sums rows
// g*chunk .. (g+1)*chunk-1 of column c (neighbouring threads read neighbouring columns, so loads
// are coalesced) into out[g, c]. The host repeats the pass on the [groups, cols] partials until
// one row is left: a tree with fan-in `chunk`, so f32 error grows with chunk * log_chunk(rows)
// rather than with rows. The last pass either stores or accumulates into the target.

struct Params { rows: u32, cols: u32, chunk: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn partial(gid: vec3<u32>) -> f32 {
  let c = gid.x;
  let r0 = gid.y * p.chunk;
  let r1 = min(r0 + p.chunk, p.rows);
  var s = 0.0;
  for (var r = r0; r < r1; r++) { s += x[r * p.cols + c]; }
  return s;
}

@compute @workgroup_size(64)
fn store(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.cols) { return; }
  out[gid.y * p.cols + gid.x] = partial(gid);
}

@compute @workgroup_size(64)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= p.cols) { return; }
  out[gid.y * p.cols + gid.x] += partial(gid);
}
