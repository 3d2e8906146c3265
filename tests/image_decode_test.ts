/**
 * JPEG decoding vs PIL (sha256 of PIL's RGB bytes, from scripts/make_image_fixtures.py) on every
 * BIOSCAN photo, and rejection of inputs that are not decodable JPEGs.
 */
import assert from "node:assert";
import { createHash } from "node:crypto";
import { decodeJpeg, detectImageFormat } from "../src/data/image/decode.ts";
import { encodeJpeg, encodePng } from "../src/data/image/encode.ts";
import { manifest, readPhoto } from "./image_fixtures.ts";

for (const d of manifest.decode) {
  Deno.test(`decodeJpeg ${d.photo} is byte-identical to PIL`, async (t) => {
    const bytes = readPhoto(d.photo);
    if (bytes === null) {
      return void t.step({ name: "photo not available: skipped", fn: () => {}, ignore: true });
    }
    const img = await decodeJpeg(bytes);
    assert.deepStrictEqual([img.width, img.height], [d.width, d.height]);
    assert.strictEqual(createHash("sha256").update(img.data).digest("hex"), d.sha256);
  });
}

async function rejects(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  await assert.rejects(() => decodeJpeg(bytes), (e: Error) => {
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("decodeJpeg rejects empty, other formats, truncated and corrupt data with a clear error", async () => {
  const jpeg = readPhoto("BIOUG68104-C02.jpg")!;
  await rejects(new Uint8Array(0), /empty input/);
  const rgb = new Uint8Array(8 * 6 * 3).fill(200);
  await rejects(await encodePng(rgb, 8, 6), /not a JPEG \(PNG signature/);
  await rejects(new TextEncoder().encode("GIF89a\x01\x00\x01\x00"), /not a JPEG \(GIF/);
  const heic = new Uint8Array(32);
  heic.set(new TextEncoder().encode("\x00\x00\x00\x18ftypheic"));
  await rejects(heic, /not a JPEG \(HEIC/);
  await rejects(new TextEncoder().encode("hello world"), /not a JPEG \(unrecognised/);
  // Truncated: libjpeg would fill the rest with grey; we want an error instead.
  await rejects(jpeg.subarray(0, Math.floor(jpeg.length / 2)), /corrupt or truncated JPEG/);
  await rejects(jpeg.subarray(0, 200), /corrupt or truncated JPEG/);
  // Garbage after a valid JPEG header.
  const bad = jpeg.slice(0, 700);
  for (let i = 400; i < 700; i++) bad[i] = (i * 37) & 0xff;
  await rejects(bad, /corrupt or truncated JPEG/);
});

Deno.test("detectImageFormat and the JPEG round trip", async () => {
  assert.strictEqual(detectImageFormat(readPhoto("BIOUG68104-C02.jpg")!), "jpeg");
  const w = 16, h = 8, rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7) % 256 > 128 ? 180 : 60;
  const enc = await encodeJpeg(rgb, w, h, 95);
  const dec = await decodeJpeg(enc);
  assert.deepStrictEqual([dec.width, dec.height, dec.data.length], [w, h, w * h * 3]);
  await assert.rejects(() => encodeJpeg(rgb, w + 1, h), /expected/);
});

Deno.test("greyscale JPEGs decode to three equal channels (PIL convert('RGB'))", async () => {
  const { default: sharp } = await import("sharp");
  const w = 12, h = 10, grey = new Uint8Array(w * h);
  for (let i = 0; i < grey.length; i++) grey[i] = (i * 13) % 256;
  const buf = await sharp(grey, { raw: { width: w, height: h, channels: 1 } }).jpeg({ quality: 90 })
    .toBuffer();
  const dec = await decodeJpeg(new Uint8Array(buf));
  assert.strictEqual(dec.data.length, w * h * 3);
  for (let p = 0; p < w * h; p++) {
    assert(dec.data[3 * p] === dec.data[3 * p + 1] && dec.data[3 * p] === dec.data[3 * p + 2]);
  }
});
