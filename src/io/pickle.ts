/**
 * A restricted pickle reader: the opcode subset that torch.save writes for state dicts (protocol 2, plus
 * the trivial protocol-4 framing ops). Nothing is ever executed: every GLOBAL goes through a caller-given
 * resolver that returns inert data or a {@link PyCallable} from an allowlist, and anything outside the
 * subset is refused with an error naming the opcode and its byte offset.
 * @module
 */

/** A Python tuple (distinct from a list, which is a plain JS array). */
export class PyTuple {
  constructor(
    /** Items. */
    readonly items: unknown[],
  ) {}
}

/** Dict keys we accept (str, int, bool, None). */
export type PyKey = string | number | boolean | null;

/** A Python dict or OrderedDict; `attrs` holds instance attributes set by BUILD (e.g. `_metadata`). */
export class PyDict {
  /** Entries in insertion order. */
  readonly map: Map<PyKey, unknown> = new Map();
  /** Attributes from BUILD (OrderedDict subclasses' `__dict__`). */
  readonly attrs: Map<string, unknown> = new Map();
  constructor(
    /** "dict" or the qualified class name, e.g. "collections.OrderedDict". */
    readonly kind = "dict",
  ) {}
}

/** An inert object of an allowlisted class, rebuilt from NEWOBJ/REDUCE args and BUILD state only. */
export class PyObject {
  /** State from BUILD (usually a {@link PyDict} of attributes). */
  state: unknown = undefined;
  constructor(
    /** Qualified class name. */
    readonly cls: string,
    /** Constructor arguments as pickled. */
    readonly args: unknown[],
  ) {}
}

/** An allowlisted global that REDUCE/NEWOBJ may call with its pickled arguments. */
export class PyCallable {
  constructor(
    /** Qualified name, for error messages. */
    readonly name: string,
    /** Implementation (pure data construction; never runs pickle-supplied code). */
    readonly call: (args: unknown[]) => unknown,
  ) {}
}

/** Resolves `module.name` of a GLOBAL opcode to a value, or throws if it is not allowed. */
export type GlobalResolver = (module: string, name: string) => unknown;

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** Resolves GLOBAL / STACK_GLOBAL. */
  resolveGlobal: GlobalResolver;
  /** Resolves a BINPERSID persistent id (torch: storage records); refused if absent. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Name of the pickle for error messages. */
  file?: string;
}

const OPNAMES: Record<number, string> = {
  0x28: "MARK",
  0x2e: "STOP",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x47: "BINFLOAT",
  0x4a: "BININT",
  0x4b: "BININT1",
  0x4d: "BININT2",
  0x4e: "NONE",
  0x51: "BINPERSID",
  0x52: "REDUCE",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x58: "BINUNICODE",
  0x5d: "EMPTY_LIST",
  0x61: "APPEND",
  0x62: "BUILD",
  0x63: "GLOBAL",
  0x65: "APPENDS",
  0x68: "BINGET",
  0x6a: "LONG_BINGET",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x73: "SETITEM",
  0x74: "TUPLE",
  0x75: "SETITEMS",
  0x7d: "EMPTY_DICT",
  0x29: "EMPTY_TUPLE",
  0x80: "PROTO",
  0x81: "NEWOBJ",
  0x85: "TUPLE1",
  0x86: "TUPLE2",
  0x87: "TUPLE3",
  0x88: "NEWTRUE",
  0x89: "NEWFALSE",
  0x8a: "LONG1",
  0x8b: "LONG4",
  0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8",
  0x93: "STACK_GLOBAL",
  0x94: "MEMOIZE",
  0x95: "FRAME",
};

/** Decodes a little-endian two's-complement integer; returns a number when it is a safe integer. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Unpickles `bytes` with the restricted opcode subset.
 * @returns the top-level value (dicts as {@link PyDict}, tuples as {@link PyTuple}, lists as arrays)
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const file = opts.file ?? "<pickle>";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opPos = 0;
  let op = 0;

  const fail = (msg: string): never => {
    const name = OPNAMES[op] ?? `0x${op.toString(16).padStart(2, "0")}`;
    throw new Error(`pickle ${file}: ${msg} (opcode ${name} at byte ${opPos})`);
  };
  const need = (n: number): number => {
    if (pos + n > bytes.length) fail(`truncated: needs ${n} more bytes`);
    const p = pos;
    pos += n;
    return p;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      fail("stack underflow");
    }
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail("no MARK on the stack");
    return stack.splice(m!);
  };
  const readLine = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("truncated: unterminated line");
    const s = new TextDecoder().decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (n: number): string => {
    const p = need(n);
    try {
      return utf8.decode(bytes.subarray(p, p + n));
    } catch {
      return fail("invalid UTF-8 string");
    }
  };
  const toKey = (k: unknown): PyKey => {
    if (typeof k === "string" || typeof k === "number" || typeof k === "boolean" || k === null) return k;
    if (typeof k === "bigint") return k.toString();
    return fail(`unsupported dict key type ${k?.constructor?.name ?? typeof k}`);
  };
  const setItems = (d: unknown, items: unknown[]): void => {
    if (!(d instanceof PyDict)) fail(`target is not a dict`);
    if (items.length % 2) fail("odd number of items");
    for (let i = 0; i < items.length; i += 2) (d as PyDict).map.set(toKey(items[i]), items[i + 1]);
  };
  const callGlobal = (fn: unknown, args: unknown): unknown => {
    if (!(args instanceof PyTuple)) fail("arguments are not a tuple");
    if (fn instanceof PyCallable) return fn.call((args as PyTuple).items);
    return fail(`cannot call ${describe(fn)} (only allowlisted callables)`);
  };

  while (true) {
    opPos = pos;
    op = bytes[need(1)];
    switch (op) {
      case 0x80: // PROTO
        if (bytes[need(1)] > 5) fail(`unsupported protocol ${bytes[pos - 1]}`);
        break;
      case 0x95: // FRAME
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail(`stack holds ${stack.length} items at STOP, expected 1`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(bytes[need(1)]);
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x8a: { // LONG1
        const n = bytes[need(1)];
        const p = need(n);
        stack.push(decodeLong(bytes.subarray(p, p + n)));
        break;
      }
      case 0x8b: { // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0 || n > 1024) fail(`LONG4 length ${n} out of range`);
        const p = need(n);
        stack.push(decodeLong(bytes.subarray(p, p + n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(str(view.getUint32(need(4), true)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(bytes[need(1)]));
        break;
      case 0x8d: { // BINUNICODE8
        const n = Number(view.getBigUint64(need(8), true));
        stack.push(str(n));
        break;
      }
      case 0x54: // BINSTRING (py2 str: latin-1)
      case 0x55: { // SHORT_BINSTRING
        const n = op === 0x54 ? view.getInt32(need(4), true) : bytes[need(1)];
        if (n < 0) fail("negative string length");
        const p = need(n);
        stack.push(String.fromCharCode(...bytes.subarray(p, p + n)));
        break;
      }
      case 0x42: // BINBYTES
      case 0x43: { // SHORT_BINBYTES
        const n = op === 0x42 ? view.getUint32(need(4), true) : bytes[need(1)];
        const p = need(n);
        stack.push(bytes.slice(p, p + n));
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const n = op - 0x84;
        const items: unknown[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(new PyTuple(items));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail("APPEND target is not a list");
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail("APPENDS target is not a list");
        (l as unknown[]).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x63: { // GLOBAL
        const module = readLine();
        const name = readLine();
        stack.push(opts.resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("module and name must be strings");
        stack.push(opts.resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(callGlobal(fn, args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(callGlobal(cls, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) {
          obj.state = state;
        } else if (obj instanceof PyDict) {
          if (!(state instanceof PyDict)) fail("BUILD state for a dict must be a dict of attributes");
          for (const [k, v] of (state as PyDict).map) obj.attrs.set(String(k), v);
        } else {
          fail(`cannot BUILD ${describe(obj)}`);
        }
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail("persistent ids are not allowed here");
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x71: // BINPUT
        memo.set(bytes[need(1)], top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(view.getUint32(need(4), true), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const i = op === 0x68 ? bytes[need(1)] : view.getUint32(need(4), true);
        if (!memo.has(i)) fail(`memo slot ${i} is empty`);
        stack.push(memo.get(i));
        break;
      }
      default:
        fail("unsupported opcode");
    }
  }
}

/** Short description of a pickled value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "None";
  if (v instanceof PyCallable) return v.name;
  if (v instanceof PyObject) return `object of ${v.cls}`;
  if (v instanceof PyDict) return v.kind;
  if (v instanceof PyTuple) return `tuple of ${v.items.length}`;
  if (Array.isArray(v)) return `list of ${v.length}`;
  return typeof v === "object" ? (v as object).constructor?.name ?? "object" : typeof v;
}
