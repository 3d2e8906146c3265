/**
 * Reader for PyTorch `torch.save` zip checkpoints (`.pth` / `.pt`, format of torch >= 1.6).
 *
 * The archive holds `<prefix>/data.pkl` (a pickle whose tensors are persistent ids pointing at storage
 * records `<prefix>/data/<key>`). Only an allowlist of globals is honoured (OrderedDict, tensor/parameter
 * rebuild functions, typed storage classes, a few inert config classes); nothing from the file is
 * executed. Each tensor is materialised as a contiguous {@link HostTensor} from its storage, offset and
 * strides (tied weights sharing one storage are read correctly), after checking that the storage record
 * really holds every element the tensor addresses.
 * @module
 */
import {
  DTYPE_BYTES,
  hostDataFromBytes,
  type HostDType,
  type HostTensor,
  numel,
  type StateDict,
} from "./host_tensor.ts";
import { PyCallable, PyDict, PyObject, PyTuple, unpickle } from "./pickle.ts";
import { ZipArchive } from "./zip.ts";

/** torch storage class name -> dtype. */
const STORAGE_DTYPES: Readonly<Record<string, HostDType>> = {
  FloatStorage: "f32",
  HalfStorage: "f16",
  BFloat16Storage: "bf16",
  DoubleStorage: "f64",
  LongStorage: "i64",
  IntStorage: "i32",
  ShortStorage: "i16",
  CharStorage: "i8",
  ByteStorage: "u8",
  BoolStorage: "bool",
};

/** Inert classes whose pickled state may be kept as plain data (configs stored next to a state dict). */
const INERT_CLASSES: ReadonlySet<string> = new Set([
  "transformers.models.bert.configuration_bert.BertConfig",
  "argparse.Namespace",
]);

/** A storage-type marker (the value of a `torch.FloatStorage` GLOBAL). */
class StorageType {
  constructor(readonly name: string, readonly dtype: HostDType) {}
}

/** A storage record referenced by a persistent id. */
interface StorageRef {
  key: string;
  dtype: HostDType;
  /** Element count declared in the persistent id. */
  numel: number;
  location: string;
}

/** A tensor as described by `_rebuild_tensor_v2`, not yet materialised. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** Where a state-dict tensor lives inside the checkpoint (for tied-weight inspection). */
export interface TensorLocation {
  /** Storage record key (`<prefix>/data/<key>`); tied tensors share a key. */
  storageKey: string;
  /** Offset into the storage, in elements. */
  offset: number;
  /** Strides in elements. */
  stride: number[];
}

/** A loaded torch.save checkpoint. */
export interface PthCheckpoint {
  /** The state dict's tensors, contiguous, in pickle order. */
  stateDict: StateDict;
  /** Top-level key holding the state dict (e.g. "model"), or null when the file is the state dict itself. */
  stateDictKey: string | null;
  /** The other top-level entries as plain JSON-like values (tensors outside the state dict become
   * `{ tensor: { shape, dtype } }` placeholders; config objects become `{ __class__, ...attributes }`). */
  extra: Record<string, unknown>;
  /** Storage location of each state-dict tensor. */
  locations: Map<string, TensorLocation>;
  /** Archive folder prefix, e.g. "model_0". */
  archivePrefix: string;
}

function asInt(v: unknown, what: string, file: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new Error(`pth ${file}: ${what} is not an integer`);
  }
  return v;
}

function asIntList(v: unknown, what: string, file: string): number[] {
  if (!(v instanceof PyTuple) && !Array.isArray(v)) throw new Error(`pth ${file}: ${what} is not a tuple`);
  const items = v instanceof PyTuple ? v.items : v as unknown[];
  return items.map((x, i) => asInt(x, `${what}[${i}]`, file));
}

function makeResolver(file: string): (module: string, name: string) => unknown {
  const rebuildTensor = new PyCallable("torch._utils._rebuild_tensor_v2", (a) => {
    if (a.length < 6) {
      throw new Error(`pth ${file}: _rebuild_tensor_v2 expects >= 6 arguments, got ${a.length}`);
    }
    const [storage, offset, size, stride] = a;
    if (!storage || typeof storage !== "object" || !("key" in storage)) {
      throw new Error(`pth ${file}: _rebuild_tensor_v2 first argument is not a storage`);
    }
    const shape = asIntList(size, "tensor size", file);
    const strides = asIntList(stride, "tensor stride", file);
    if (shape.length !== strides.length) {
      throw new Error(`pth ${file}: size [${shape}] and stride [${strides}] differ in rank`);
    }
    return new TensorRef(storage as StorageRef, asInt(offset, "storage offset", file), shape, strides);
  });
  const rebuildParameter = (name: string) =>
    new PyCallable(name, (a) => {
      if (!(a[0] instanceof TensorRef)) throw new Error(`pth ${file}: ${name} expects a tensor`);
      return a[0];
    });
  return (module, name) => {
    const q = `${module}.${name}`;
    if (q === "collections.OrderedDict") {
      return new PyCallable(q, (a) => {
        const d = new PyDict(q);
        const init = a[0];
        if (Array.isArray(init)) {
          for (const kv of init) {
            if (kv instanceof PyTuple && kv.items.length === 2) d.map.set(kv.items[0] as string, kv.items[1]);
          }
        }
        return d;
      });
    }
    if (q === "torch._utils._rebuild_tensor_v2") return rebuildTensor;
    if (q === "torch._utils._rebuild_parameter" || q === "torch._utils._rebuild_parameter_with_state") {
      return rebuildParameter(q);
    }
    if (module === "torch" && name in STORAGE_DTYPES) return new StorageType(name, STORAGE_DTYPES[name]);
    if (INERT_CLASSES.has(q)) return new PyCallable(q, (a) => new PyObject(q, a));
    throw new Error(
      `pth ${file}: refusing global "${q}" (not in the allowlist of state-dict types; ` +
        `only tensors, OrderedDict, storages and plain values are supported)`,
    );
  };
}

/** Reads `<prefix>/data.pkl` of an archive and finds the prefix. */
function findPrefix(zip: ZipArchive, file: string): string {
  const pkls = zip.names().filter((n) => n === "data.pkl" || n.endsWith("/data.pkl"));
  if (pkls.length !== 1) {
    throw new Error(`pth ${file}: expected exactly one data.pkl in the archive, found ${pkls.length}`);
  }
  return pkls[0].slice(0, -"data.pkl".length);
}

/** Materialises a strided view of a storage as a contiguous tensor, checking the storage extent. */
function materialise(ref: TensorRef, store: Uint8Array, name: string, file: string): HostTensor {
  const { dtype } = ref.storage;
  const size = DTYPE_BYTES[dtype];
  const available = Math.floor(store.byteLength / size);
  const n = numel(ref.shape);
  if (ref.offset < 0 || ref.stride.some((s) => s < 0)) {
    throw new Error(`pth ${file}: tensor "${name}" has a negative offset or stride`);
  }
  let last = ref.offset;
  if (n > 0) { for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d] - 1) * ref.stride[d]; }
  if (n > 0 && last >= available) {
    throw new Error(
      `pth ${file}: tensor "${name}" [${ref.shape}] (offset ${ref.offset}, stride [${ref.stride}]) needs ` +
        `${last + 1} ${dtype} elements of storage "${ref.storage.key}", the record holds only ${available} ` +
        `(${store.byteLength} bytes): storage record is cut short`,
    );
  }
  // contiguous fast path
  let contiguous = true;
  for (let d = ref.shape.length - 1, expect = 1; d >= 0; d--) {
    if (ref.shape[d] !== 1 && ref.stride[d] !== expect) contiguous = false;
    expect *= ref.shape[d];
  }
  if (contiguous) {
    const bytes = store.subarray(ref.offset * size, (ref.offset + n) * size);
    return { shape: [...ref.shape], dtype, data: hostDataFromBytes(dtype, bytes, `${file}: ${name}`) };
  }
  const src = hostDataFromBytes(dtype, store.subarray(0, available * size), `${file}: ${name}`);
  const out = new (src.constructor as new (n: number) => typeof src)(n);
  const rank = ref.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let p = ref.offset;
  for (let i = 0; i < n; i++) {
    (out as Float32Array)[i] = (src as Float32Array)[p];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      p += ref.stride[d];
      if (idx[d] < ref.shape[d]) break;
      p -= ref.stride[d] * ref.shape[d];
      idx[d] = 0;
    }
  }
  return { shape: [...ref.shape], dtype, data: out };
}

function isTensorDict(v: unknown): v is PyDict {
  if (!(v instanceof PyDict) || v.map.size === 0) return false;
  for (const x of v.map.values()) if (!(x instanceof TensorRef)) return false;
  return true;
}

/** Converts pickled data to plain JSON-like values (tensors become shape/dtype placeholders). */
function toPlain(v: unknown): unknown {
  if (v instanceof TensorRef) return { tensor: { shape: v.shape, dtype: v.storage.dtype } };
  if (v instanceof PyTuple) return v.items.map(toPlain);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof PyDict) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v.map) o[String(k)] = toPlain(x);
    return o;
  }
  if (v instanceof PyObject) {
    const o: Record<string, unknown> = { __class__: v.cls };
    const state = toPlain(v.state);
    if (state && typeof state === "object" && !Array.isArray(state)) Object.assign(o, state);
    return o;
  }
  if (typeof v === "bigint") return v.toString();
  if (v instanceof StorageType || v instanceof PyCallable) return String((v as { name: string }).name);
  return v;
}

/** Keys tried, in order, when the state dict is wrapped in a dict. */
const WRAPPER_KEYS = ["model", "state_dict", "model_state_dict", "module", "net"];

/** Options of {@link parsePth}. */
export interface PthOptions {
  /** Top-level key of the state dict to load when the file holds several (default: found automatically). */
  stateDictKey?: string;
}

/**
 * Parses a torch.save zip archive held in memory.
 * @param file name for error messages
 */
export function parsePth(bytes: Uint8Array, file = "<pth>", opts: PthOptions = {}): PthCheckpoint {
  if (bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) {
    throw new Error(
      `pth ${file}: legacy (pre-1.6, non-zip) torch.save format is not supported; ` +
        `re-save it with a recent torch.save`,
    );
  }
  if (bytes.byteLength < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new Error(`pth ${file}: not a zip archive (torch.save zip format expected)`);
  }
  const zip = new ZipArchive(bytes, file);
  const prefix = findPrefix(zip, file);
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (order !== "little") {
      throw new Error(`pth ${file}: byte order "${order}" is not supported (little only)`);
    }
  }
  const storages = new Map<string, StorageRef>();
  const root = unpickle(zip.read(`${prefix}data.pkl`), {
    file: `${file}:${prefix}data.pkl`,
    resolveGlobal: makeResolver(file),
    persistentLoad: (pid) => {
      if (!(pid instanceof PyTuple) || pid.items[0] !== "storage" || pid.items.length < 5) {
        throw new Error(
          `pth ${file}: unsupported persistent id (expected ('storage', type, key, location, numel))`,
        );
      }
      const [, type, key, location, count] = pid.items;
      if (!(type instanceof StorageType)) throw new Error(`pth ${file}: persistent id has no storage type`);
      if (typeof key !== "string") throw new Error(`pth ${file}: storage key is not a string`);
      const prev = storages.get(key);
      if (prev) return prev;
      const ref: StorageRef = {
        key,
        dtype: type.dtype,
        numel: asInt(count, `numel of storage ${key}`, file),
        location: String(location),
      };
      storages.set(key, ref);
      return ref;
    },
  });

  let sd: PyDict;
  let stateDictKey: string | null = null;
  const extra: Record<string, unknown> = {};
  if (opts.stateDictKey === undefined && isTensorDict(root)) {
    sd = root;
  } else if (root instanceof PyDict) {
    const candidates = [...root.map.entries()].filter(([, v]) => isTensorDict(v)).map(([k]) => String(k));
    stateDictKey = opts.stateDictKey ?? WRAPPER_KEYS.find((k) => candidates.includes(k)) ??
      (candidates.length === 1 ? candidates[0] : null);
    if (stateDictKey === null || !candidates.includes(stateDictKey)) {
      throw new Error(
        `pth ${file}: no state dict ${
          opts.stateDictKey ? `"${opts.stateDictKey}" ` : ""
        }found (top-level keys: ${[...root.map.keys()].join(", ")}; ` +
          `tensor dicts: ${candidates.join(", ") || "none"})`,
      );
    }
    sd = root.map.get(stateDictKey) as PyDict;
    for (const [k, v] of root.map) if (String(k) !== stateDictKey) extra[String(k)] = toPlain(v);
  } else {
    throw new Error(`pth ${file}: top-level object is not a dict of tensors`);
  }

  const records = new Map<string, Uint8Array>();
  const stateDict: StateDict = new Map();
  const locations = new Map<string, TensorLocation>();
  for (const [k, v] of sd.map) {
    const name = String(k);
    const ref = v as TensorRef;
    const key = ref.storage.key;
    let rec = records.get(key);
    if (!rec) {
      const entry = `${prefix}data/${key}`;
      if (!zip.entries.has(entry)) {
        throw new Error(`pth ${file}: tensor "${name}": storage record "${entry}" is missing`);
      }
      rec = zip.read(entry);
      records.set(key, rec);
    }
    stateDict.set(name, materialise(ref, rec, name, file));
    const declared = ref.storage.numel * DTYPE_BYTES[ref.storage.dtype];
    if (rec.byteLength !== declared) {
      throw new Error(
        `pth ${file}: tensor "${name}": storage record "${key}" has ${rec.byteLength} bytes, its header declares ` +
          `${ref.storage.numel} ${ref.storage.dtype} elements (${declared} bytes)`,
      );
    }
    locations.set(name, { storageKey: key, offset: ref.offset, stride: [...ref.stride] });
  }
  return { stateDict, stateDictKey, extra, locations, archivePrefix: prefix.replace(/\/$/, "") };
}

/** Reads and parses a torch.save checkpoint file. */
export async function readPth(path: string, opts: PthOptions = {}): Promise<PthCheckpoint> {
  return parsePth(await Deno.readFile(path), path, opts);
}
