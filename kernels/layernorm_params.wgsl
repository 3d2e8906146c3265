// LayerNorm backward, parameter gradients, in two deterministic steps (no atomics):
//   partial: thread (c, chunk) sums dy * xhat and dy over ROWS consecutive rows into part[chunk, 2, C];
//   accumulate: thread c adds the column sums of part (chunks in order) to dgamma or dbeta in place.

struct Params { n: u32, c: u32, rows: u32, chunks: u32, which: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean_in: array<f32>;
@group(0) @binding(4) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(64)
fn partial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let chunk = gid.y;
  if (c >= p.c) { return; }
  let r0 = chunk * p.rows;
  let r1 = min(r0 + p.rows, p.n);
  var sg = 0.0;
  var sb = 0.0;
  for (var r = r0; r < r1; r++) {
    let g = dy[r * p.c + c];
    sg += g * (x[r * p.c + c] - mean_in[r]) * rstd_in[r];
    sb += g;
  }
  part[(chunk * 2u) * p.c + c] = sg;
  part[(chunk * 2u + 1u) * p.c + c] = sb;
}
