// Token ops with two inputs (a, b read; out written; one thread per output element):
//   prepend:       a = tok [C], b = x [B,P,C] -> out [B,P+1,C] with out[:, 0] = tok (the ViT CLS token)
//   add_broadcast: a = x [B,T,C], b = y [T,C] -> out = x + y broadcast over the batch (position embeddings)

struct Params { n: u32, row: u32, b: u32, t: u32, c: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(gid: vec3<u32>) -> u32 { return gid.x + gid.y * p.row; }

@compute @workgroup_size(256)
fn prepend(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  let tc = p.t * p.c; // p.t = P + 1
  let bi = e / tc;
  let r = e % tc;
  if (r < p.c) {
    out[e] = a[r];
  } else {
    out[e] = b[bi * (tc - p.c) + r - p.c];
  }
}

@compute @workgroup_size(256)
fn add_broadcast(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = index(gid);
  if (e >= p.n) { return; }
  out[e] = a[e] + b[e % (p.t * p.c)];
}
