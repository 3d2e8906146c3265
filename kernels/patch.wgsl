// im2col for the ViT patch embedding (conv k = stride = patch): images [B,Ch,H,W] ->
// cols [B*P, Ch*patch*patch], patches row-major over (py, px), columns ordered (c, ky, kx) so that
// cols @ W^T with W = conv weight [O,Ch,p,p] flattened to [O, Ch*p*p] equals the convolution.
// One thread per output element.

struct Params { b: u32, ch: u32, h: u32, w: u32, psize: u32, nx: u32, np: u32, row: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.row;
  let kk = p.psize * p.psize;
  let width = p.ch * kk;
  if (e >= p.b * p.np * width) { return; }
  let r = e / width;
  let col = e % width;
  let b = r / p.np;
  let pi = r % p.np;
  let py = pi / p.nx;
  let px = pi % p.nx;
  let c = col / kk;
  let ky = (col % kk) / p.psize;
  let kx = col % p.psize;
  cols[e] = img[((b * p.ch + c) * p.h + py * p.psize + ky) * p.w + px * p.psize + kx];
}
