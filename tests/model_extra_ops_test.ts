/** col2im (src/models/extra_ops.ts) is the exact inverse of im2col for the ViT's patch grid. */
import { im2col } from "../src/ops/patch.ts";
import { col2im } from "../src/models/extra_ops.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";

for (const [B, size, patch] of [[2, 32, 16], [3, 12, 4], [1, 10, 5]]) {
  Deno.test(`col2im inverts im2col on CPU and GPU (B=${B}, ${size}px, patch ${patch})`, async () => {
    const n = B * 3 * size * size;
    const img = new Rng(size + patch).uniformArray(n, 0, 1);
    const back = col2im(cpu, im2col(cpu, cpu.tensor(img, [B, 3, size, size]), patch), B, size, patch);
    assertClose(await cpu.read(back), img, { rtol: 0, atol: 1e-30, what: "cpu" });
    // GPU col2im of the CPU columns (independent of the GPU im2col)
    const cols = await cpu.read(im2col(cpu, cpu.tensor(img, [B, 3, size, size]), patch));
    const be = await gpu();
    const g = col2im(
      be,
      be.tensor(cols, [cols.length / (3 * patch * patch), 3 * patch * patch]),
      B,
      size,
      patch,
    );
    assertClose(await be.read(g), img, { rtol: 0, atol: 1e-30, what: "gpu" });
  });
}
