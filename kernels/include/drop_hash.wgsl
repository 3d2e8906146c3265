// Dropout's counter-based hash (shared by dropout.wgsl and the attention kernels, and mirrored in
// src/ops/dropout.ts): element (r, c) is kept when drop_hash(seed, r, c) >= floor(p * 2^32).
// PCG-RXS-M-XS 32-bit output permutation (Jarzynski & Olano 2020, "Hash Functions for GPU Rendering").
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn drop_hash(seed: u32, r: u32, c: u32) -> u32 { return pcg(pcg(pcg(seed) + r) + c); }
