// col2im for the ViT patch embedding (stride = kernel = patch, so patches do not overlap and this
// is a pure permutation, the exact inverse of patch.wgsl's im2col): cols [B*P, Ch*patch*patch]
// with columns ordered (c, ky, kx) -> images [B,Ch,H,W]. Used for the gradient w.r.t. the input
// image. One thread per image element (a gather, so no atomics are needed).

struct Params { b: u32, ch: u32, h: u32, w: u32, ps: u32, nx: u32, np: u32, row: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read_write> img: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.row;
  if (e >= p.b * p.ch * p.h * p.w) { return; }
  let x = e % p.w;
  let y = (e / p.w) % p.h;
  let c = (e / (p.w * p.h)) % p.ch;
  let b = e / (p.w * p.h * p.ch);
  let pi = (y / p.ps) * p.nx + x / p.ps;
  let col = (c * p.ps + y % p.ps) * p.ps + x % p.ps;
  img[e] = cols[(b * p.np + pi) * (p.ch * p.ps * p.ps) + col];
}
