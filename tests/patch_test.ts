import { im2col } from "../src/ops/patch.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";

/**
 * Direct convolution with kernel = stride = p (no im2col), the independent reference: out[b, o, py, px]
 * = sum_{c,ky,kx} w[o, c, ky, kx] * img[b, c, py*p + ky, px*p + kx].
 */
function conv(
  img: Float32Array,
  w: Float32Array,
  b: number,
  ch: number,
  h: number,
  wd: number,
  p: number,
  o: number,
) {
  const ny = h / p, nx = wd / p;
  const out = new Float64Array(b * o * ny * nx);
  for (let bi = 0; bi < b; bi++) {
    for (let oi = 0; oi < o; oi++) {
      for (let py = 0; py < ny; py++) {
        for (let px = 0; px < nx; px++) {
          let s = 0;
          for (let c = 0; c < ch; c++) {
            for (let ky = 0; ky < p; ky++) {
              for (let kx = 0; kx < p; kx++) {
                s += w[((oi * ch + c) * p + ky) * p + kx] *
                  img[((bi * ch + c) * h + py * p + ky) * wd + px * p + kx];
              }
            }
          }
          out[((bi * o + oi) * ny + py) * nx + px] = s;
        }
      }
    }
  }
  return out;
}

for (const [b, ch, h, w, p] of [[1, 3, 16, 16, 16], [2, 3, 32, 48, 16], [2, 2, 6, 9, 3]]) {
  Deno.test(`im2col x flattened conv weight equals a direct conv [${b},${ch},${h},${w}] p=${p}`, async () => {
    const be = await gpu();
    const rng = new Rng(h * w + p);
    const o = 5, k = ch * p * p, np = (h / p) * (w / p);
    const img = rng.uniformArray(b * ch * h * w), weight = rng.uniformArray(o * k);
    const colsGpu = await be.read(im2col(be, be.tensor(img, [b, ch, h, w]), p));
    const colsCpu = await cpu.read(im2col(cpu, cpu.tensor(img, [b, ch, h, w]), p));
    assertClose(colsGpu, colsCpu, { what: "GPU vs CPU", rtol: 0, atol: 1e-30 });
    // cols [B*P, K] @ weight^T [K, O] must equal the conv output read as [B, P, O].
    const ref = conv(img, weight, b, ch, h, w, p, o);
    const got = new Float64Array(b * np * o), want = new Float64Array(b * np * o);
    for (let bi = 0; bi < b; bi++) {
      for (let pi = 0; pi < np; pi++) {
        for (let oi = 0; oi < o; oi++) {
          let s = 0;
          for (let e = 0; e < k; e++) s += colsGpu[(bi * np + pi) * k + e] * weight[oi * k + e];
          got[(bi * np + pi) * o + oi] = s;
          want[(bi * np + pi) * o + oi] = ref[(bi * o + oi) * np + pi];
        }
      }
    }
    assertClose(got, want, { what: "patch embedding", rtol: 1e-9, atol: 1e-9 });
  });
}

Deno.test("im2col rejects images that do not divide into patches", () => {
  let threw = false;
  try {
    im2col(cpu, cpu.zeros([1, 3, 20, 16]), 16);
  } catch {
    threw = true;
  }
  if (!threw) throw new Error("im2col accepted a 20x16 image with 16x16 patches");
});
