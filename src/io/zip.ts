/**
 * Minimal read-only zip reader for torch.save archives: central directory (with zip64 records), stored
 * and deflated entries, CRC-32 verification. Entries of stored files are returned as views into the
 * archive bytes (no copy).
 * @module
 */
import { inflateRawSync } from "node:zlib";

/** One file in a zip archive. */
export interface ZipEntry {
  /** Full path inside the archive. */
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  /** CRC-32 of the uncompressed data, from the central directory. */
  crc32: number;
  /** Compressed size in bytes. */
  compressedSize: number;
  /** Uncompressed size in bytes. */
  size: number;
  /** Offset of the local file header. */
  localOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE, as in zip) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip archive held in memory. */
export class ZipArchive {
  /** Entries by full name, in central-directory order. */
  readonly entries: Map<string, ZipEntry> = new Map();
  private readonly view: DataView;

  /**
   * Parses the central directory of `bytes`.
   * @param file archive name used in error messages
   */
  constructor(private readonly bytes: Uint8Array, readonly file = "<zip>") {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.parse();
  }

  private fail(msg: string): never {
    throw new Error(`zip ${this.file}: ${msg}`);
  }

  private u16(o: number): number {
    if (o + 2 > this.bytes.byteLength) this.fail(`truncated: read past end at offset ${o}`);
    return this.view.getUint16(o, true);
  }

  private u32(o: number): number {
    if (o + 4 > this.bytes.byteLength) this.fail(`truncated: read past end at offset ${o}`);
    return this.view.getUint32(o, true);
  }

  private u64(o: number): number {
    if (o + 8 > this.bytes.byteLength) this.fail(`truncated: read past end at offset ${o}`);
    const v = this.view.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`64-bit field ${v} at offset ${o} is too large`);
    return Number(v);
  }

  private parse(): void {
    const b = this.bytes;
    const n = b.byteLength;
    if (n < 22) this.fail(`${n} bytes is too short for a zip archive`);
    let eocd = -1;
    for (let o = n - 22; o >= Math.max(0, n - 22 - 65535); o--) {
      if (this.view.getUint32(o, true) === SIG_EOCD) {
        eocd = o;
        break;
      }
    }
    if (eocd < 0) this.fail("no end-of-central-directory record (not a zip file, or truncated)");
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || this.u32(loc) !== SIG_ZIP64_LOCATOR) this.fail("zip64 fields without a zip64 locator");
      const rec = this.u64(loc + 8);
      if (this.u32(rec) !== SIG_ZIP64_EOCD) this.fail(`no zip64 end-of-central-directory record at ${rec}`);
      count = this.u64(rec + 32);
      cdSize = this.u64(rec + 40);
      cdOffset = this.u64(rec + 48);
    }
    if (cdOffset + cdSize > n) {
      this.fail(`central directory [${cdOffset}, +${cdSize}) runs past the end (${n} bytes)`);
    }
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(p) !== SIG_CENTRAL) {
        this.fail(`central directory entry ${i} at offset ${p} has a bad signature`);
      }
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let csize = this.u32(p + 20);
      let usize = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let local = this.u32(p + 42);
      if (p + 46 + nameLen > n) this.fail(`central directory entry ${i} name runs past the end`);
      const name = new TextDecoder().decode(b.subarray(p + 46, p + 46 + nameLen));
      if (flags & 1) this.fail(`entry "${name}" is encrypted`);
      // zip64 extended information extra field
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = this.u16(e), len = this.u16(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (usize === 0xffffffff) usize = this.u64(q), q += 8;
          if (csize === 0xffffffff) csize = this.u64(q), q += 8;
          if (local === 0xffffffff) local = this.u64(q), q += 8;
        }
        e += 4 + len;
      }
      this.entries.set(name, {
        name,
        method,
        crc32: crc,
        compressedSize: csize,
        size: usize,
        localOffset: local,
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Entry names. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The compressed bytes of an entry (a view), after checking its local header. */
  private raw(entry: ZipEntry): Uint8Array {
    const o = entry.localOffset;
    if (o + 30 > this.bytes.byteLength || this.u32(o) !== SIG_LOCAL) {
      this.fail(`entry "${entry.name}": no local file header at offset ${o} (truncated or corrupt archive)`);
    }
    const start = o + 30 + this.u16(o + 26) + this.u16(o + 28);
    const end = start + entry.compressedSize;
    if (end > this.bytes.byteLength) {
      this.fail(
        `entry "${entry.name}": data [${start}, ${end}) runs past the end of the archive (${this.bytes.byteLength} bytes)`,
      );
    }
    return this.bytes.subarray(start, end);
  }

  /**
   * Returns the uncompressed bytes of `name` (a view into the archive for stored entries), verifying size
   * and CRC-32. Throws naming the entry if it is missing or damaged.
   */
  read(name: string, opts: { verifyCrc?: boolean } = {}): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) this.fail(`no entry named "${name}"`);
    const raw = this.raw(entry);
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      try {
        data = new Uint8Array(inflateRawSync(raw));
      } catch (e) {
        this.fail(`entry "${name}": deflate stream is corrupt (${(e as Error).message})`);
      }
    } else {
      this.fail(`entry "${name}": unsupported compression method ${entry.method} (only stored and deflate)`);
    }
    if (data.byteLength !== entry.size) {
      this.fail(
        `entry "${name}": ${data.byteLength} bytes after decompression, central directory says ${entry.size}`,
      );
    }
    if (opts.verifyCrc !== false && crc32(data) !== entry.crc32) {
      this.fail(`entry "${name}": CRC-32 mismatch (corrupt data)`);
    }
    return data;
  }
}
