/**
 * Eval transform vs torchvision on every BIOSCAN photo (fixtures from
 * scripts/make_image_fixtures.py: PIL decode -> ToTensor -> Resize(R, antialias) -> CenterCrop(C)).
 */
import assert from "node:assert";
import { toTensor } from "../src/data/image/chw.ts";
import { centerCropOffset, roundHalfEven } from "../src/data/image/crop.ts";
import { decodeJpeg } from "../src/data/image/decode.ts";
import { shorterSideSize } from "../src/data/image/resize.ts";
import { decodeAndTransform, evalTransform } from "../src/data/image/transforms.ts";
import { manifest, maxAbsDiff, readF32, readPhoto } from "./image_fixtures.ts";

Deno.env.set("CLIBD_QUIET", "1");

for (const c of manifest.eval) {
  Deno.test(`eval transform ${c.photo} R=${c.resize} C=${c.crop} matches torchvision`, async (t) => {
    const bytes = readPhoto(c.photo);
    if (bytes === null) {
      return void t.step({ name: "photo not available: skipped", fn: () => {}, ignore: true });
    }
    const got = await decodeAndTransform(bytes, { mode: "eval", resize: c.resize, crop: c.crop });
    const want = readF32(c);
    const { max, at } = maxAbsDiff(got, want);
    if (Deno.env.get("IMAGE_TEST_VERBOSE")) {
      console.log(`${c.photo} ${c.resize}/${c.crop}: max abs diff ${max}`);
    }
    // Required: 1/255 per pixel. In practice the float32-faithful weights give ~1e-6.
    assert(max <= 1 / 255, `max abs diff ${max} at ${at} (> 1/255)`);
    assert(max <= 1e-5, `max abs diff ${max} at ${at}: weights or window bounds differ from PyTorch`);
  });
}

Deno.test("resize output size is torchvision's int(size * long / short)", () => {
  assert.deepStrictEqual(shorterSideSize(2160, 2880, 256), [256, 341]);
  assert.deepStrictEqual(shorterSideSize(256, 375, 300), [300, 439]); // int(439.45...)
  assert.deepStrictEqual(shorterSideSize(300, 100, 256), [768, 256]);
  assert.deepStrictEqual(shorterSideSize(7, 7, 3), [3, 3]);
});

Deno.test("center crop offsets use Python's round (half to even)", () => {
  assert.deepStrictEqual([roundHalfEven(0.5), roundHalfEven(1.5), roundHalfEven(2.5), roundHalfEven(-0.5)], [
    0,
    2,
    2,
    -0,
  ]);
  assert.deepStrictEqual(centerCropOffset(256, 341, 224, 224), [16, 58]); // (341-224)/2 = 58.5 -> 58
  assert.deepStrictEqual(centerCropOffset(256, 279, 224, 224), [16, 28]); // 27.5 -> 28
  assert.deepStrictEqual(centerCropOffset(32, 46, 40, 40), [-4, 3]); // padding (4, 4) on top/bottom
});

Deno.test("eval transform: options and errors", async () => {
  const bytes = readPhoto("BIOUG68104-C02.jpg")!;
  const x = toTensor(await decodeJpeg(bytes));
  const plain = evalTransform(x, { resize: 64, crop: 56 });
  const norm = evalTransform(x, { resize: 64, crop: 56, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.deepStrictEqual(plain.data.length, 3 * 56 * 56);
  for (let i = 0; i < plain.data.length; i += 97) {
    assert(Math.abs(norm.data[i] - (plain.data[i] - 0.5) / 0.5) < 1e-6);
  }
  let threw = false;
  try {
    await decodeAndTransform(bytes, { mode: "eval", resize: 0, crop: 56 });
  } catch (e) {
    threw = /positive integers/.test((e as Error).message);
  }
  assert(threw, "resize 0 must be rejected");
});

Deno.test("fused ToTensor+Resize path equals the unfused torchvision-order path exactly", async () => {
  for (const name of ["cropped_resized_BIOUG68021-F12.jpg", "4284053_Odonata.jpg"]) {
    const bytes = readPhoto(name);
    if (bytes === null) continue;
    for (const [resize, crop] of [[64, 56], [300, 40]] as [number, number][]) {
      const unfused: Float32Array = evalTransform(toTensor(await decodeJpeg(bytes)), { resize, crop }).data;
      const fused = await decodeAndTransform(bytes, { mode: "eval", resize, crop });
      assert.deepStrictEqual(fused, unfused, `${name} ${resize}/${crop}`);
    }
  }
});
