/**
 * Files bundled with the library (the default config, the WordPiece vocabulary) live next to the code.
 * In a local checkout they are file paths; when the module was imported from a URL (e.g. JSR) they are
 * http(s) URLs and are fetched instead of read.
 * @module
 */
import { fileURLToPath } from "node:url";

/** True when `location` is an http(s) URL rather than a file path. */
export function isRemote(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** A bundled resource's location: its file path when local, the URL itself when remote. */
export function bundledLocation(url: URL): string {
  return url.protocol === "file:" ? fileURLToPath(url) : url.href;
}

/**
 * Reads a text file, or fetches it when `location` is an http(s) URL. A missing remote file (HTTP 404)
 * throws `Deno.errors.NotFound`, like a missing local one.
 */
export async function readTextLocation(location: string): Promise<string> {
  if (!isRemote(location)) return await Deno.readTextFile(location);
  const r = await fetch(location);
  if (r.status === 404) {
    await r.body?.cancel();
    throw new Deno.errors.NotFound(`HTTP 404 for ${location}`);
  }
  if (!r.ok) {
    await r.body?.cancel();
    throw new Error(`HTTP ${r.status} for ${location}`);
  }
  return await r.text();
}
