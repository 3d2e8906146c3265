// Embedding backward, step 1: sort the tokens by id so that every table row's gradient can be summed by
// one thread in a fixed order (deterministic, unlike atomic float adds).
//   make_keys: keys[t] = clamp(id_t) * N + t for t < N, 0xffffffff padding up to a power of two.
//              Ties in id are broken by the token index, so the sorted order is unique.
//   bitonic:   one compare-exchange step (k, j) of a bitonic sort over the power-of-two key array.

struct Params { n: u32, v: u32, len: u32, row: u32, k: u32, j: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;

@compute @workgroup_size(256)
fn make_keys(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.row;
  if (t >= p.len) { return; }
  if (t < p.n) {
    let id = u32(clamp(ids[t], 0, i32(p.v) - 1));
    keys[t] = id * p.n + t;
  } else {
    keys[t] = 0xffffffffu;
  }
}

@compute @workgroup_size(256)
fn bitonic(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.len) { return; }
  let l = i ^ p.j;
  if (l <= i) { return; } // the lower index of each pair does the exchange
  let a = keys[i];
  let b = keys[l];
  let ascending = (i & p.k) == 0u;
  if ((a > b) == ascending) {
    keys[i] = b;
    keys[l] = a;
  }
}
