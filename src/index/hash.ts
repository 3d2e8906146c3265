/**
 * Checkpoint identity for key indexes: the SHA-256 of the whole file, streamed in 8 MiB pieces (a
 * 1.5 GB CLIBD checkpoint takes a few seconds), plus its size. An index records it so that queries
 * embedded with another model are refused instead of silently compared in a different space.
 * @module
 */
import { createHash } from "node:crypto";

/** Identity of a checkpoint file. */
export interface FileIdentity {
  /** Path as given. */
  path: string;
  /** Size in bytes. */
  bytes: number;
  /** Lower-case hex SHA-256 of the full file content. */
  sha256: string;
  /** How `sha256` was computed (always the full file here; recorded so readers need not guess). */
  hashMethod: "sha256-full-file";
}

/** Streams a file through SHA-256; errors name the file. */
export async function fileIdentity(path: string): Promise<FileIdentity> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    throw new Error(`${path}: cannot open checkpoint (${(e as Error).message})`);
  }
  const h = createHash("sha256");
  let bytes = 0;
  try {
    const buf = new Uint8Array(8 << 20);
    while (true) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    f.close();
  }
  return { path, bytes, sha256: h.digest("hex"), hashMethod: "sha256-full-file" };
}
