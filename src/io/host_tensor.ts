/**
 * Host-side tensors as read from or written to checkpoint files (safetensors, torch.save zip).
 *
 * A state dict is a `Map<string, HostTensor>`. Data is always contiguous and row-major; half-precision
 * values (`f16`, `bf16`) are kept as their raw 16-bit patterns in a `Uint16Array` until converted with
 * {@link toFloat32}; 64-bit integers are kept in a `BigInt64Array` until converted with {@link toInt32}.
 * @module
 */

/** Element types that checkpoint files may hold. */
export type HostDType = "f64" | "f32" | "f16" | "bf16" | "i64" | "i32" | "i16" | "i8" | "u8" | "bool";

/** Typed array behind each {@link HostDType}. */
export interface HostDataMap {
  /** 64-bit floats. */
  f64: Float64Array;
  /** 32-bit floats. */
  f32: Float32Array;
  /** IEEE half floats as raw bits. */
  f16: Uint16Array;
  /** bfloat16 as raw bits. */
  bf16: Uint16Array;
  /** 64-bit signed integers. */
  i64: BigInt64Array;
  /** 32-bit signed integers. */
  i32: Int32Array;
  /** 16-bit signed integers. */
  i16: Int16Array;
  /** 8-bit signed integers. */
  i8: Int8Array;
  /** 8-bit unsigned integers. */
  u8: Uint8Array;
  /** Booleans as 0/1 bytes. */
  bool: Uint8Array;
}

/** Any typed array a {@link HostTensor} can hold. */
export type HostData = HostDataMap[HostDType];

/** A dense, contiguous, row-major tensor on the host. */
export interface HostTensor {
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /** Element type. */
  dtype: HostDType;
  /** `numel(shape)` elements of `dtype` (f16/bf16: raw bit patterns; bool: 0/1 bytes). */
  data: HostData;
}

/** A state dict: parameter name -> tensor, in file order. */
export type StateDict = Map<string, HostTensor>;

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<HostDType, number>> = {
  f64: 8,
  f32: 4,
  f16: 2,
  bf16: 2,
  i64: 8,
  i32: 4,
  i16: 2,
  i8: 1,
  u8: 1,
  bool: 1,
};

/** Number of elements of a shape (1 for a scalar `[]`). Throws on negative or non-integer dims. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`invalid dimension ${d} in shape [${shape}]`);
    n *= d;
  }
  return n;
}

/** Allocates a zero-filled typed array of `n` elements for `dtype`. */
export function allocHostData(dtype: HostDType, n: number): HostData {
  switch (dtype) {
    case "f64":
      return new Float64Array(n);
    case "f32":
      return new Float32Array(n);
    case "f16":
    case "bf16":
      return new Uint16Array(n);
    case "i64":
      return new BigInt64Array(n);
    case "i32":
      return new Int32Array(n);
    case "i16":
      return new Int16Array(n);
    case "i8":
      return new Int8Array(n);
    case "u8":
    case "bool":
      return new Uint8Array(n);
  }
}

/**
 * Copies little-endian bytes into a new typed array of `dtype` (the bytes need not be aligned).
 * @param bytes exactly `n * DTYPE_BYTES[dtype]` bytes
 * @param what tensor name used in error messages
 */
export function hostDataFromBytes(dtype: HostDType, bytes: Uint8Array, what = "tensor"): HostData {
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new Error(`${what}: ${bytes.byteLength} bytes is not a multiple of ${size} (dtype ${dtype})`);
  }
  const out = allocHostData(dtype, bytes.byteLength / size);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

/** The raw little-endian bytes of a tensor's data (a view, no copy). */
export function hostTensorBytes(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Creates a tensor, checking that `data` matches `shape` and `dtype`. */
export function hostTensor(shape: number[], dtype: HostDType, data: HostData, what = "tensor"): HostTensor {
  const n = numel(shape);
  if (data.length !== n) {
    throw new Error(`${what}: shape [${shape}] needs ${n} elements, data has ${data.length}`);
  }
  if (!(data instanceof allocHostData(dtype, 0).constructor)) {
    throw new Error(`${what}: data is a ${data.constructor.name}, which cannot hold dtype ${dtype}`);
  }
  return { shape: [...shape], dtype, data };
}

/** Converts an IEEE half-precision bit pattern to a number. */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Converts a bfloat16 bit pattern to a number (exact). */
export function bf16BitsToNumber(b: number): number {
  u32Scratch[0] = (b & 0xffff) << 16;
  return f32Scratch[0];
}

/** Rounds a number to the nearest bfloat16 (ties to even), returning its bit pattern. NaN -> 0x7fc0. */
export function numberToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0];
  if (Number.isNaN(f32Scratch[0])) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Rounds a number to the nearest IEEE half (ties to even), returning its bit pattern. */
export function numberToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    const m = mant | 0x800000; // implicit bit
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // a carry into the exponent is correct
  return sign | half;
}

/**
 * Converts any floating or integer tensor to a new f32 tensor (f32 input is returned as a copy).
 * i64 values beyond 2^53 lose precision like a float cast would; bool becomes 0/1.
 */
export function toFloat32(t: HostTensor): HostTensor {
  const n = t.data.length;
  const out = new Float32Array(n);
  switch (t.dtype) {
    case "f16": {
      const d = t.data as Uint16Array;
      for (let i = 0; i < n; i++) out[i] = f16BitsToNumber(d[i]);
      break;
    }
    case "bf16": {
      const d = t.data as Uint16Array;
      const o32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) o32[i] = d[i] << 16;
      break;
    }
    case "i64": {
      const d = t.data as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = Number(d[i]);
      break;
    }
    default: {
      const d = t.data as Exclude<HostData, BigInt64Array>;
      for (let i = 0; i < n; i++) out[i] = d[i];
    }
  }
  return { shape: [...t.shape], dtype: "f32", data: out };
}

/**
 * Converts an integer tensor (i64, i32, i16, i8, u8, bool) to i32, throwing (naming `what` and the
 * element) if a value does not fit in a signed 32-bit integer.
 */
export function toInt32(t: HostTensor, what = "tensor"): HostTensor {
  const n = t.data.length;
  const out = new Int32Array(n);
  if (t.dtype === "i64") {
    const d = t.data as BigInt64Array;
    for (let i = 0; i < n; i++) {
      const v = d[i];
      if (v > 2147483647n || v < -2147483648n) {
        throw new Error(`${what}: element ${i} = ${v} does not fit in int32`);
      }
      out[i] = Number(v);
    }
  } else if (
    t.dtype === "i32" || t.dtype === "i16" || t.dtype === "i8" || t.dtype === "u8" || t.dtype === "bool"
  ) {
    out.set(t.data as Int32Array);
  } else {
    throw new Error(`${what}: cannot convert dtype ${t.dtype} to int32 (integer dtypes only)`);
  }
  return { shape: [...t.shape], dtype: "i32", data: out };
}

/** Converts an f32/f64 tensor to f16 or bf16 (round to nearest even), e.g. for writing half checkpoints. */
export function toHalf(t: HostTensor, dtype: "f16" | "bf16"): HostTensor {
  const src = t.dtype === "f32" || t.dtype === "f64"
    ? t.data as Float32Array | Float64Array
    : toFloat32(t).data as Float32Array;
  const out = new Uint16Array(src.length);
  const conv = dtype === "f16" ? numberToF16Bits : numberToBf16Bits;
  for (let i = 0; i < src.length; i++) out[i] = conv(src[i]);
  return { shape: [...t.shape], dtype, data: out };
}
