/**
 * JPEG decoding with sharp (libvips + mozjpeg/libjpeg-turbo). On the BIOSCAN photos its output
 * is byte-identical to PIL's `Image.open(p).convert("RGB")`, which CLIBD uses (checked in
 * tests/image_decode_test.ts against PIL checksums). EXIF orientation is NOT applied, matching PIL.
 * @module
 */
import sharp, { type OutputInfo } from "sharp";
import type { RgbImage } from "./chw.ts";

/** Container formats recognised by their leading bytes. */
export type ImageFormat = "jpeg" | "png" | "gif" | "webp" | "heic" | "avif" | "tiff" | "bmp" | "unknown";

/** Identifies an image container from its signature (magic bytes). */
export function detectImageFormat(b: Uint8Array): ImageFormat {
  const at = (i: number, s: string) => {
    for (let k = 0; k < s.length; k++) if (b[i + k] !== s.charCodeAt(k)) return false;
    return true;
  };
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 8 && at(0, "\x89PNG\r\n\x1a\n")) return "png";
  if (b.length >= 6 && (at(0, "GIF87a") || at(0, "GIF89a"))) return "gif";
  if (b.length >= 12 && at(0, "RIFF") && at(8, "WEBP")) return "webp";
  if (b.length >= 12 && at(4, "ftyp")) {
    // ISO-BMFF: the major brand tells HEIF/HEIC from AVIF.
    return at(8, "avif") || at(8, "avis") ? "avif" : "heic";
  }
  if (b.length >= 4 && (at(0, "II*\x00") || at(0, "MM\x00*"))) return "tiff";
  if (b.length >= 2 && at(0, "BM")) return "bmp";
  return "unknown";
}

/**
 * Decodes a JPEG into 8-bit RGB (HWC). Greyscale JPEGs are expanded to three equal channels and
 * an alpha channel is dropped, as PIL's `convert("RGB")` does.
 * @throws Error naming the problem for empty input, another format (PNG, HEIC, GIF, ...) or a
 *   truncated/corrupt JPEG (sharp `failOn: "truncated"` makes libjpeg's premature-end warning an
 *   error instead of a grey-filled image).
 */
export async function decodeJpeg(bytes: Uint8Array): Promise<RgbImage> {
  if (bytes.length === 0) throw new Error("decodeJpeg: empty input (0 bytes)");
  const fmt = detectImageFormat(bytes);
  if (fmt !== "jpeg") {
    const head = [...bytes.subarray(0, 8)].map((v) => v.toString(16).padStart(2, "0")).join(" ");
    throw new Error(
      `decodeJpeg: input is not a JPEG (${fmt === "unknown" ? "unrecognised" : fmt.toUpperCase()} ` +
        `signature, first bytes ${head})`,
    );
  }
  let data: Uint8Array, info: OutputInfo;
  try {
    // failOn "truncated" is the strictest level that still accepts the harmless libjpeg warnings
    // some camera JPEGs carry; "premature end of JPEG image" is an error at this level.
    const r = await sharp(bytes, { failOn: "truncated", limitInputPixels: 1 << 28 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    data = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    info = r.info;
  } catch (e) {
    throw new Error(`decodeJpeg: corrupt or truncated JPEG (${bytes.length} bytes): ${(e as Error).message}`);
  }
  const { width, height, channels } = info;
  if (channels === 3) return { width, height, data };
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      // 1 or 2 channels: grey (+alpha) -> replicate grey; 4: RGBA -> drop alpha.
      out[3 * p + c] = channels <= 2 ? data[p * channels] : data[p * channels + c];
    }
  }
  return { width, height, data: out };
}
