/**
 * safetensors reading (whole-buffer or streaming, tensor by tensor) and atomic writing.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { key: string } }`, then the data
 * (offsets relative to the end of the header). The header is fully validated before any tensor is read:
 * known dtype, integer shape, `numel(shape) * size == end - begin`, and byte ranges that tile the data area
 * exactly (no gaps, overlaps or bytes past the end of the file).
 * @module
 */
import { writeFileAtomic } from "../util/atomic.ts";
import {
  DTYPE_BYTES,
  hostDataFromBytes,
  type HostDType,
  type HostTensor,
  hostTensorBytes,
  numel,
  type StateDict,
  toFloat32,
} from "./host_tensor.ts";

/** safetensors dtype names for each host dtype. */
const TO_ST: Readonly<Record<HostDType, string>> = {
  f64: "F64",
  f32: "F32",
  f16: "F16",
  bf16: "BF16",
  i64: "I64",
  i32: "I32",
  i16: "I16",
  i8: "I8",
  u8: "U8",
  bool: "BOOL",
};
const FROM_ST: Readonly<Record<string, HostDType>> = Object.fromEntries(
  Object.entries(TO_ST).map(([k, v]) => [v, k as HostDType]),
);

/** Largest JSON header accepted (the reference implementation uses the same 100 MB cap). */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  /** Tensor name. */
  name: string;
  /** Element type. */
  dtype: HostDType;
  /** Dimensions. */
  shape: number[];
  /** Absolute byte offset of the first byte in the file. */
  start: number;
  /** Number of bytes. */
  byteLength: number;
}

/** A parsed, validated safetensors header. */
export interface SafetensorsHeader {
  /** Entries in file-offset order. */
  entries: SafetensorsEntry[];
  /** The `__metadata__` string map (empty if absent). */
  metadata: Record<string, string>;
  /** Absolute offset where the data area begins (8 + header length). */
  dataStart: number;
}

/** Options for reading tensors. */
export interface ReadOptions {
  /** Convert f16/bf16/f64 tensors to f32 on read (integer tensors are left alone). */
  float32?: boolean;
}

function fail(file: string, msg: string): never {
  throw new Error(`safetensors ${file}: ${msg}`);
}

/**
 * Parses and validates a safetensors header.
 * @param prefix the first bytes of the file (at least 8 + header length)
 * @param fileSize total size of the file in bytes
 * @param file file name for error messages
 */
export function parseSafetensorsHeader(
  prefix: Uint8Array,
  fileSize: number,
  file = "<buffer>",
): SafetensorsHeader {
  if (fileSize < 8 || prefix.byteLength < 8) {
    fail(file, `file is ${fileSize} bytes, too short for the 8-byte header length`);
  }
  const n64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(file, `header length ${n64} exceeds ${MAX_HEADER_BYTES} bytes`);
  const n = Number(n64);
  if (8 + n > fileSize) fail(file, `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  if (prefix.byteLength < 8 + n) fail(file, `need ${8 + n} header bytes, got ${prefix.byteLength}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(prefix.subarray(8, 8 + n)));
  } catch (e) {
    fail(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    fail(file, "header JSON is not an object");
  }
  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        fail(file, "__metadata__ is not an object");
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(file, `__metadata__.${k} is not a string`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info === null || typeof info !== "object") fail(file, `tensor "${name}": entry is not an object`);
    const dtype = typeof info.dtype === "string" ? FROM_ST[info.dtype] : undefined;
    if (!dtype) fail(file, `tensor "${name}": unknown dtype ${JSON.stringify(info.dtype)}`);
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(
        file,
        `tensor "${name}": shape ${JSON.stringify(info.shape)} is not a list of non-negative integers`,
      );
    }
    const off = info.data_offsets;
    if (
      !Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      off[1] < off[0]
    ) {
      fail(
        file,
        `tensor "${name}": data_offsets ${JSON.stringify(off)} is not [begin, end] with begin <= end`,
      );
    }
    const shape = info.shape as number[];
    const need = numel(shape) * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== need) {
      fail(
        file,
        `tensor "${name}": shape [${shape}] x ${dtype} needs ${need} bytes, data_offsets span ${
          off[1] - off[0]
        }`,
      );
    }
    if (off[1] > dataSize) {
      fail(file, `tensor "${name}": data_offsets [${off}] run past the end of the data (${dataSize} bytes)`);
    }
    entries.push({ name, dtype, shape, start: dataStart + off[0], byteLength: need });
  }
  entries.sort((a, b) => a.start - b.start || a.byteLength - b.byteLength);
  let pos = dataStart;
  for (const e of entries) {
    if (e.start !== pos) {
      fail(
        file,
        `tensor "${e.name}": starts at data offset ${e.start - dataStart}, expected ${
          pos - dataStart
        } (gap or overlap)`,
      );
    }
    pos += e.byteLength;
  }
  if (pos !== fileSize) fail(file, `${fileSize - pos} trailing bytes after the last tensor`);
  return { entries, metadata, dataStart };
}

function makeTensor(
  e: SafetensorsEntry,
  bytes: Uint8Array,
  opts: ReadOptions | undefined,
  file: string,
): HostTensor {
  const t: HostTensor = {
    shape: e.shape,
    dtype: e.dtype,
    data: hostDataFromBytes(e.dtype, bytes, `${file}: ${e.name}`),
  };
  if (opts?.float32 && (e.dtype === "f16" || e.dtype === "bf16" || e.dtype === "f64")) return toFloat32(t);
  return t;
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(
  bytes: Uint8Array,
  opts?: ReadOptions & { file?: string },
): { stateDict: StateDict; metadata: Record<string, string> } {
  const file = opts?.file ?? "<buffer>";
  const header = parseSafetensorsHeader(bytes, bytes.byteLength, file);
  const stateDict: StateDict = new Map();
  for (const e of header.entries) {
    stateDict.set(e.name, makeTensor(e, bytes.subarray(e.start, e.start + e.byteLength), opts, file));
  }
  return { stateDict, metadata: header.metadata };
}

async function readExactly(f: Deno.FsFile, pos: number, n: number, file: string): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  await f.seek(pos, Deno.SeekMode.Start);
  let got = 0;
  while (got < n) {
    const r = await f.read(buf.subarray(got));
    if (r === null) fail(file, `unexpected end of file reading ${n} bytes at offset ${pos}`);
    got += r;
  }
  return buf;
}

/**
 * Streaming reader: validates the header on open, then reads one tensor's byte range per call, so a
 * large file is never held in memory as a whole. Call {@link SafetensorsReader.close} when done.
 */
export class SafetensorsReader {
  private constructor(
    private readonly f: Deno.FsFile,
    /** File path. */
    readonly path: string,
    /** Validated header. */
    readonly header: SafetensorsHeader,
    private readonly byName: Map<string, SafetensorsEntry>,
  ) {}

  /** Opens and validates `path`. */
  static async open(path: string): Promise<SafetensorsReader> {
    const f = await Deno.open(path, { read: true });
    try {
      const size = (await f.stat()).size;
      if (size < 8) fail(path, `file is ${size} bytes, too short for the 8-byte header length`);
      const lenBytes = await readExactly(f, 0, 8, path);
      const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
      if (n > BigInt(MAX_HEADER_BYTES) || 8 + Number(n) > size) {
        fail(path, `header length ${n} is invalid for a ${size}-byte file`);
      }
      const prefix = await readExactly(f, 0, 8 + Number(n), path);
      const header = parseSafetensorsHeader(prefix, size, path);
      return new SafetensorsReader(f, path, header, new Map(header.entries.map((e) => [e.name, e])));
    } catch (e) {
      f.close();
      throw e;
    }
  }

  /** The `__metadata__` map. */
  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Tensor names in file order. */
  names(): string[] {
    return this.header.entries.map((e) => e.name);
  }

  /** The header entry of `name`, or undefined. */
  entry(name: string): SafetensorsEntry | undefined {
    return this.byName.get(name);
  }

  /** Reads one tensor (throws naming the tensor if it is not in the file). */
  async readTensor(name: string, opts?: ReadOptions): Promise<HostTensor> {
    const e = this.byName.get(name);
    if (!e) fail(this.path, `no tensor named "${name}"`);
    return makeTensor(e, await readExactly(this.f, e.start, e.byteLength, this.path), opts, this.path);
  }

  /** Yields `[name, tensor]` in file order, reading each on demand. */
  async *tensors(opts?: ReadOptions): AsyncGenerator<[string, HostTensor]> {
    for (const e of this.header.entries) yield [e.name, await this.readTensor(e.name, opts)];
  }

  /** Closes the file. */
  close(): void {
    this.f.close();
  }
}

/** Reads a whole safetensors file into a state dict (streaming, one tensor at a time). */
export async function readSafetensors(
  path: string,
  opts?: ReadOptions,
): Promise<{ stateDict: StateDict; metadata: Record<string, string> }> {
  const r = await SafetensorsReader.open(path);
  try {
    const stateDict: StateDict = new Map();
    for await (const [name, t] of r.tensors(opts)) stateDict.set(name, t);
    return { stateDict, metadata: { ...r.metadata } };
  } finally {
    r.close();
  }
}

/**
 * The bytes before the tensor data: the little-endian u64 header length, then the JSON header
 * space-padded to a multiple of 8 bytes (so the data that follows stays 8-byte aligned).
 */
export function encodeSafetensorsHeader(header: Record<string, unknown>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/**
 * Serialises a state dict to safetensors bytes. Tensors are laid out by element size (largest first, then
 * insertion order) so every tensor is aligned to its element size; the header is space-padded to 8 bytes.
 */
export function encodeSafetensors(stateDict: StateDict, metadata?: Record<string, string>): Uint8Array {
  const items = [...stateDict.entries()].map(([name, t], i) => ({ name, t, i }));
  items.sort((a, b) => DTYPE_BYTES[b.t.dtype] - DTYPE_BYTES[a.t.dtype] || a.i - b.i);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new Error(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
      }
    }
    header.__metadata__ = metadata;
  }
  let off = 0;
  for (const { name, t } of items) {
    if (name === "__metadata__") throw new Error(`safetensors: "__metadata__" cannot be a tensor name`);
    const n = numel(t.shape);
    if (t.data.length !== n) {
      throw new Error(`safetensors: tensor "${name}" has shape [${t.shape}] but ${t.data.length} elements`);
    }
    const bytes = n * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  const head = encodeSafetensorsHeader(header);
  const out = new Uint8Array(head.byteLength + off);
  out.set(head, 0);
  let pos = head.byteLength;
  for (const { t } of items) {
    const b = hostTensorBytes(t);
    out.set(b, pos);
    pos += b.byteLength;
  }
  return out;
}

/** Writes a state dict as safetensors atomically (temp file + rename). */
export async function writeSafetensors(
  path: string,
  stateDict: StateDict,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(stateDict, metadata));
}
