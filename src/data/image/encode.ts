/**
 * Encoding 8-bit RGB with sharp: JPEG for the synthetic demo dataset, PNG for lossless previews
 * (contact sheets).
 * @module
 */
import sharp from "sharp";

function check(rgb: Uint8Array, width: number, height: number, what: string): void {
  if (!(width > 0 && height > 0) || rgb.length !== width * height * 3) {
    throw new Error(
      `${what}: expected ${width}x${height}x3 = ${width * height * 3} bytes, got ${rgb.length}`,
    );
  }
}

/** Encodes interleaved RGB as a baseline JPEG (4:2:0 chroma, like most camera JPEGs). */
export async function encodeJpeg(
  rgb: Uint8Array,
  width: number,
  height: number,
  quality = 90,
): Promise<Uint8Array> {
  check(rgb, width, height, "encodeJpeg");
  if (!(quality >= 1 && quality <= 100)) {
    throw new Error(`encodeJpeg: quality must be 1..100, got ${quality}`);
  }
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Encodes interleaved RGB as PNG: lossless by default; `palette: true` quantises to 256 colours
 * (much smaller previews for docs, never for data).
 */
export async function encodePng(
  rgb: Uint8Array,
  width: number,
  height: number,
  opts: { palette?: boolean } = {},
): Promise<Uint8Array> {
  check(rgb, width, height, "encodePng");
  const png = opts.palette ? { palette: true, colours: 256, compressionLevel: 9 } : {};
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } }).png(png).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
