// Embedding gather: out[n, c] = table[id_n, c]. One thread per output element. An out-of-range id is
// clamped into [0, V) so a bad token can never read outside the table (the CPU reference throws).

struct Params { n: u32, c: u32, v: u32, row: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.row;
  if (e >= p.n * p.c) { return; }
  let t = e / p.c;
  let c = e % p.c;
  let id = u32(clamp(ids[t], 0, i32(p.v) - 1));
  out[e] = table[id * p.c + c];
}
