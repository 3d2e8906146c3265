// Sum of one f32 per thread over a workgroup of WG threads (WG a power of two <= 256, declared by the
// including kernel as an override): a shared-memory tree, with barriers so it can be called again.
// Every thread of the workgroup must call it (uniform control flow).
var<workgroup> red: array<f32, 256>;

fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
