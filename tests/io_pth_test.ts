import { assert, assertEquals, assertThrows } from "./assert.ts";
import { f16BitsToNumber, type HostTensor, toFloat32 } from "../src/io/host_tensor.ts";
import { parsePth, readPth } from "../src/io/pth.ts";
import { readSafetensors } from "../src/io/safetensors.ts";
import { crc32, ZipArchive } from "../src/io/zip.ts";
import { loadCheckpoint } from "../src/io/checkpoint.ts";

const IO = new URL("./fixtures/io/", import.meta.url).pathname;
const MODELS = new URL("./fixtures/models/", import.meta.url).pathname;
const REAL = new URL("./fixtures/io/barcodebert_proto_model_0.pth", import.meta.url).pathname;

/** Plain numbers of a tensor (f16/bf16 decoded, i64 as decimal strings, like the JSON fixtures). */
function values(t: HostTensor): (number | string)[] {
  if (t.dtype === "i64") return [...t.data as BigInt64Array].map(String);
  if (t.dtype === "f16") return [...t.data as Uint16Array].map(f16BitsToNumber);
  if (t.dtype === "bf16") return [...toFloat32(t).data as Float32Array];
  return Array.from(t.data as ArrayLike<number>);
}

/** Writes a stored (uncompressed) zip, for building corrupted variants of real archives. */
function storedZip(entries: [string, Uint8Array][]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let off = 0;
  for (const [name, data] of entries) {
    const n = enc.encode(name);
    const local = new Uint8Array(30 + n.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc32(data), true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, n.length, true);
    local.set(n, 30);
    const c = new Uint8Array(46 + n.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, off, true);
    c.set(n, 46);
    parts.push(local, data);
    central.push(c);
    off += local.length + data.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, off, true);
  const all = [...parts, ...central, eocd];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let p = 0;
  for (const a of all) out.set(a, p), p += a.length;
  return out;
}

function entriesOf(bytes: Uint8Array): [string, Uint8Array][] {
  const z = new ZipArchive(bytes);
  return z.names().map((n) => [n, z.read(n).slice()]);
}

Deno.test("real BarcodeBERT prototype .pth matches torch.load", async () => {
  const ref = JSON.parse(await Deno.readTextFile(`${IO}barcodebert_proto_reference.json`));
  const c = await readPth(REAL);
  assertEquals(c.stateDict.size, 75);
  assertEquals(c.stateDict.size, ref.count);
  assertEquals([...c.stateDict.keys()], ref.keys);
  assertEquals(c.archivePrefix, "model_0");
  assertEquals(c.stateDictKey, null);
  for (
    const [name, r] of Object.entries(ref.tensors) as [
      string,
      { shape: number[]; first: number[]; sum: number },
    ][]
  ) {
    const t = c.stateDict.get(name)!;
    assertEquals(t.shape, r.shape, name);
    assertEquals(t.dtype, "f32", name);
    const v = t.data as Float32Array;
    assertEquals([...v.subarray(0, r.first.length)], r.first, name);
    let s = 0;
    for (const x of v) s += x;
    assert(Math.abs(s - r.sum) <= 1e-9 * (1 + Math.abs(r.sum)), `${name}: sum ${s} vs ${r.sum}`);
  }
  assertEquals(c.stateDict.get("embedding.tok_embed.weight")!.shape, [260, 16]);
  assertEquals(c.stateDict.get("layers.4.enc_self_attn.W_Q.weight")!.shape, [64, 16]);
  // tied weights: one storage record, equal values
  assert(ref.tied[0][2] === true);
  assertEquals(
    c.locations.get("decoder.weight")!.storageKey,
    c.locations.get("embedding.tok_embed.weight")!.storageKey,
  );
  assertEquals(c.stateDict.get("decoder.weight")!.data, c.stateDict.get("embedding.tok_embed.weight")!.data);
});

Deno.test("torch.save dtypes, strided views, offsets, scalars (stored and deflated archives)", async () => {
  const ref = JSON.parse(await Deno.readTextFile(`${IO}dtypes.json`)) as Record<
    string,
    { shape: number[]; dtype: string; values: (number | string)[] }
  >;
  const dtypeName: Record<string, string> = {
    f32: "float32",
    f16: "float16",
    bf16: "bfloat16",
    f64: "float64",
    i64: "int64",
    i32: "int32",
    u8: "uint8",
    bool: "bool",
  };
  for (const file of ["dtypes.pth", "dtypes_deflate.pth"]) {
    const c = await readPth(`${IO}${file}`);
    assertEquals([...c.stateDict.keys()], Object.keys(ref), file);
    for (const [name, r] of Object.entries(ref)) {
      const t = c.stateDict.get(name)!;
      assertEquals(t.shape, r.shape, `${file} ${name}`);
      assertEquals(dtypeName[t.dtype], r.dtype, `${file} ${name}`);
      const got = values(t);
      const want = t.dtype === "f32" ? r.values.map((x) => Math.fround(x as number)) : r.values;
      assertEquals(got, want, `${file} ${name}`);
    }
    assertEquals(c.locations.get("strided_cols"), {
      storageKey: c.locations.get("base")!.storageKey,
      offset: 5,
      stride: [5, 2],
    });
  }
  assertEquals((await readPth(`${IO}dtypes_deflate.pth`)).archivePrefix, "renamed_prefix");
});

Deno.test("wrapped checkpoint: state dict under 'model', config object and plain values in extra", async () => {
  const c = await readPth(`${IO}wrapped.pth`);
  assertEquals(c.stateDictKey, "model");
  assertEquals([...c.stateDict.keys()], [
    "module.bert.embeddings.word_embeddings.weight",
    "module.bert.embeddings.position_ids",
    "module.classifier.weight",
  ]);
  assertEquals(c.stateDict.get("module.bert.embeddings.position_ids")!.dtype, "i64");
  assertEquals(c.extra, {
    bert_config: {
      __class__: "transformers.models.bert.configuration_bert.BertConfig",
      vocab_size: 5,
      hidden_size: 4,
      num_hidden_layers: 1,
    },
    epoch: 3,
    lr: 1e-4,
    name: "tiny",
    flag: true,
    none: null,
    pair: [1, 2],
    list: [1, 2.5],
    big: (2n ** 70n).toString(),
  });
});

Deno.test("clibd_tiny.pth equals clibd_tiny.safetensors; native tower dicts share its storages", async () => {
  const st = (await readSafetensors(`${MODELS}clibd_tiny.safetensors`)).stateDict;
  const loaded = await loadCheckpoint(`${MODELS}clibd_tiny.pth`);
  assertEquals(loaded.format, "pth");
  const pth = loaded.stateDict;
  assertEquals([...pth.keys()].sort(), [...st.keys()].sort());
  for (const [k, t] of st) {
    assertEquals(pth.get(k)!.shape, t.shape, k);
    assertEquals(pth.get(k)!.data, t.data, k);
  }
  // the natives are in the same archive and reuse the canonical storages (saved once)
  const extra = loaded.metadata as Record<string, Record<string, unknown>>;
  assertEquals(Object.keys(extra).sort(), ["hf_bert_dna", "hf_bert_text", "timm_vit"]);
  assertEquals(extra.timm_vit["blocks.0.attn.qkv.weight"], { tensor: { shape: [96, 32], dtype: "f32" } });
});

Deno.test("corrupted archives fail with clear errors", async () => {
  const good = await Deno.readFile(`${IO}dtypes.pth`);
  // truncated zip
  assertThrows(() => parsePth(good.subarray(0, good.length - 100), "cut.pth"), "zip cut.pth");
  assertThrows(() => parsePth(good.subarray(0, 1000), "cut.pth"), "end-of-central-directory");
  const entries = entriesOf(good);
  const prefix = entries[0][0].split("/")[0];
  // cut storage record: the record of "base" (shared by views) loses its last 4 bytes
  const c = parsePth(good);
  const key = c.locations.get("base")!.storageKey;
  const cut = entries.map((
    [n, d],
  ): [string, Uint8Array] => [n, n === `${prefix}/data/${key}` ? d.subarray(0, d.length - 4) : d]);
  assertThrows(() => parsePth(storedZip(cut), "cut_storage.pth"), 'tensor "base" [6,5]');
  assertThrows(() => parsePth(storedZip(cut), "cut_storage.pth"), "storage record is cut short");
  // a storage cut where no tensor reaches: still refused by the declared-size check
  const pad = entries.map((
    [n, d],
  ): [string, Uint8Array] => [n, n === `${prefix}/data/${key}` ? new Uint8Array([...d, 0, 0, 0, 0]) : d]);
  assertThrows(() => parsePth(storedZip(pad), "long.pth"), "its header declares 30 f32 elements");
  // unknown global: rewrite the OrderedDict global in data.pkl to os.system
  const pklName = `${prefix}/data.pkl`;
  const pkl = entries.find(([n]) => n === pklName)![1];
  const text = Array.from(pkl, (b) => String.fromCharCode(b)).join("");
  assert(text.includes("collections\nOrderedDict\n"));
  const evil = Uint8Array.from(
    text.replace("collections\nOrderedDict\n", "os\nsystem\n"),
    (ch) => ch.charCodeAt(0),
  );
  const evilZip = storedZip(entries.map(([n, d]): [string, Uint8Array] => [n, n === pklName ? evil : d]));
  assertThrows(() => parsePth(evilZip, "evil.pth"), 'refusing global "os.system"');
  // unsupported opcode (e.g. INST 'i', protocol 0) names the opcode and offset
  const inst = Uint8Array.from([0x80, 0x02, 0x69]);
  const instZip = storedZip(entries.map(([n, d]): [string, Uint8Array] => [n, n === pklName ? inst : d]));
  assertThrows(() => parsePth(instZip, "inst.pth"), "unsupported opcode (opcode 0x69 at byte 2)");
  // CRC mismatch inside a storage record
  const flipped = good.slice();
  const z = new ZipArchive(good);
  const e = z.entries.get(`${prefix}/data/${key}`)!;
  flipped[
    e.localOffset + 30 + e.name.length + new DataView(good.buffer).getUint16(e.localOffset + 28, true) + 3
  ] ^= 1;
  assertThrows(() => parsePth(flipped, "flip.pth"), "CRC-32 mismatch");
  assertThrows(() => parsePth(new Uint8Array([0x80, 0x02, 0x8a, 0x0a]), "old.pth"), "legacy (pre-1.6");
});
