// Embedding backward, step 2: with keys sorted (see embedding_sort.wgsl), the tokens of one id form a
// run. Thread (r, c) with r the first position of a run sums dOut[t, c] over that run in token order and
// adds it to dTable[id, c]; every other thread exits. The padding row (pad >= 0) gets no gradient,
// like torch.nn.Embedding(padding_idx=...).

struct Params { n: u32, c: u32, pad: i32, row: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dtable: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.row;
  if (e >= p.n * p.c) { return; }
  let r = e / p.c;
  let c = e % p.c;
  let id = keys[r] / p.n;
  if (r > 0u && keys[r - 1u] / p.n == id) { return; }
  if (i32(id) == p.pad) { return; }
  var s = 0.0;
  for (var q = r; q < p.n; q++) {
    let key = keys[q];
    if (key / p.n != id) { break; }
    s += dout[(key % p.n) * p.c + c];
  }
  dtable[id * p.c + c] = dtable[id * p.c + c] + s;
}
