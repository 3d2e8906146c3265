/**
 * Training augmentation: the deterministic pieces vs torchvision functional calls at fixed
 * parameters (fixtures from scripts/make_image_fixtures.py), the fallback of
 * RandomResizedCrop.get_params, and the random parameter distributions checked statistically.
 */
import assert from "node:assert";
import type { ChwImage } from "../src/data/image/chw.ts";
import { hflip, rotateNearest, vflip } from "../src/data/image/geometry.ts";
import {
  randomResizedCropParams,
  resizedCropFallback,
  sampleTrainParams,
} from "../src/data/image/random_params.ts";
import { decodeAndTransform, resizedCrop } from "../src/data/image/transforms.ts";
import { Rng } from "../src/util/rng.ts";
import { manifest, maxAbsDiff, readF32, readPhoto } from "./image_fixtures.ts";

const inp = manifest.train_input;
const input: ChwImage = { channels: 3, height: inp.shape[1], width: inp.shape[2], data: readF32(inp) };

for (const f of manifest.functional) {
  Deno.test(`train piece ${f.file} matches torchvision F.${f.op}`, () => {
    const want = readF32(f);
    let got: ChwImage;
    if (f.op === "resized_crop") {
      const box = { top: f.i as number, left: f.j as number, height: f.h as number, width: f.w as number };
      got = resizedCrop(input, box, f.size as number);
    } else if (f.op === "hflip") got = hflip(input);
    else if (f.op === "vflip") got = vflip(input);
    else if (f.op === "rotate") got = rotateNearest(input, f.angle as number);
    else throw new Error(`unknown op ${f.op}`);
    assert.deepStrictEqual([got.channels, got.height, got.width], f.shape);
    if (f.op === "rotate") {
      // Nearest sampling copies pixels: every pixel is exact unless a float32 rounding tie picks a
      // neighbour. Allow at most 0.2% such pixels; report the count.
      const plane = got.height * got.width;
      let bad = 0;
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < 3; c++) {
          if (got.data[c * plane + p] !== want[c * plane + p]) {
            bad++;
            break;
          }
        }
      }
      if (Deno.env.get("IMAGE_TEST_VERBOSE")) console.log(`rotate ${f.angle}: ${bad}/${plane} pixels differ`);
      assert(bad <= 0.002 * plane, `${bad} of ${plane} pixels differ`);
    } else {
      const { max, at } = maxAbsDiff(got.data, want);
      assert(max <= 1e-5, `max abs diff ${max} at ${at}`);
    }
  });
}

Deno.test("RandomResizedCrop fallback matches torchvision (scale (2,2) forces it)", () => {
  for (const c of manifest.fallback) {
    // Every try fails with scale 2, so the sampler must end in the fallback whatever the RNG draws.
    const got = randomResizedCropParams(c.height, c.width, new Rng(7), [2, 2]);
    assert.deepStrictEqual(got, { top: c.i, left: c.j, height: c.h, width: c.w }, `${c.height}x${c.width}`);
    assert.deepStrictEqual(resizedCropFallback(c.height, c.width, [3 / 4, 4 / 3]), got);
  }
});

Deno.test("random parameters follow torchvision's distributions", () => {
  const rng = new Rng(12345);
  const ref = manifest.rrc_stats;
  const H = ref.height, W = ref.width, N = 4000;
  let hf = 0, vf = 0, angleSum = 0, angleMin = Infinity, angleMax = -Infinity, logRatioSum = 0;
  let areaSum = 0;
  for (let n = 0; n < N; n++) {
    const p = sampleTrainParams(H, W, rng);
    const b = p.box;
    assert(b.top >= 0 && b.left >= 0 && b.top + b.height <= H && b.left + b.width <= W, JSON.stringify(b));
    // Kept boxes satisfy the sampled constraints up to the rounding of w and h.
    const area = (b.height * b.width) / (H * W);
    assert(area >= 0.08 * 0.9 && area <= 1, `area fraction ${area}`);
    const r = b.width / b.height;
    assert(r >= (3 / 4) * 0.9 && r <= (4 / 3) * 1.1, `ratio ${r}`);
    areaSum += area;
    logRatioSum += Math.log(r);
    hf += p.hflip ? 1 : 0;
    vf += p.vflip ? 1 : 0;
    angleSum += p.angle;
    angleMin = Math.min(angleMin, p.angle);
    angleMax = Math.max(angleMax, p.angle);
  }
  // Binomial(4000, 0.5): sd ~ 32, 5 sd bounds.
  assert(Math.abs(hf - N / 2) < 160 && Math.abs(vf - N / 2) < 160, `flips ${hf}, ${vf}`);
  // U(-45, 45): mean sd 26/sqrt(N) ~ 0.41.
  assert(Math.abs(angleSum / N) < 2 && angleMin >= -45 && angleMax < 45 && angleMin < -44 && angleMax > 44);
  // Box statistics vs torchvision's sampler (20000 draws in the fixture script): rejecting boxes
  // that do not fit biases both away from the naive uniform means. 5 standard errors.
  const se = (sd: number) => 5 * sd * Math.sqrt(1 / N + 1 / ref.n);
  assert(
    Math.abs(areaSum / N - ref.area_mean) < se(ref.area_sd),
    `mean area ${areaSum / N} vs ${ref.area_mean}`,
  );
  assert(
    Math.abs(logRatioSum / N - ref.log_ratio_mean) < se(ref.log_ratio_sd),
    `mean log ratio ${logRatioSum / N} vs ${ref.log_ratio_mean}`,
  );
});

Deno.test("train decodeAndTransform is deterministic per seed, varies across seeds, stays in [0,1]", async () => {
  const bytes = readPhoto("BIOUG68104-C02.jpg")!;
  const opts = { mode: "train" as const, resize: 64, crop: 56 };
  const a = await decodeAndTransform(bytes, { ...opts, seed: 3 });
  const b = await decodeAndTransform(bytes, { ...opts, seed: 3 });
  const c = await decodeAndTransform(bytes, { ...opts, seed: 4 });
  assert.strictEqual(a.length, 3 * 56 * 56);
  assert.deepStrictEqual(a, b);
  assert(maxAbsDiff(a, c).max > 0.05);
  for (const v of a) assert(v >= 0 && v <= 1);
});
