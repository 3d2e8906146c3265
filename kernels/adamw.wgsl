// One torch.optim.AdamW step (single-tensor, non-amsgrad), in place, one thread per element.
// The host folds the step-dependent scalars (in f64) so the kernel does no pow():
//   decay     = 1 - lr * weight_decay                  (decoupled weight decay, applied first)
//   step_size = lr / (1 - beta1^t)
//   bc2_sqrt  = sqrt(1 - beta2^t)
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
// 1 - beta is also folded on the host: in f32, 1 - f32(0.999) is off by 1.3e-5 relative.
//   p = p * decay - step_size * m / (sqrt(v) / bc2_sqrt + eps)

struct Params {
  n: u32,
  row: u32,
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
  decay: f32,
  step_size: f32,
  bc2_sqrt: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let g = grad[i];
  let mi = p.beta1 * m[i] + p.one_minus_beta1 * g;
  let vi = p.beta2 * v[i] + p.one_minus_beta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / p.bc2_sqrt + p.eps;
  param[i] = param[i] * p.decay - p.step_size * mi / denom;
}
