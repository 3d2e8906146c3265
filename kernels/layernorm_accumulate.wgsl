// Adds the column sums of part[chunk, 2, C] (slot `which`: 0 = dgamma, 1 = dbeta) to grad[C] in place,
// summing the chunks in a fixed order so the result is deterministic.

struct Params { n: u32, c: u32, rows: u32, chunks: u32, which: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.c) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.chunks; k++) { s += part[(k * 2u + p.which) * p.c + c]; }
  grad[c] = grad[c] + s;
}
