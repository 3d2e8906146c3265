import { assertEquals, assertRejects, assertThrows } from "./assert.ts";
import {
  bf16BitsToNumber,
  f16BitsToNumber,
  type HostTensor,
  numberToBf16Bits,
  numberToF16Bits,
  type StateDict,
  toFloat32,
  toHalf,
  toInt32,
} from "../src/io/host_tensor.ts";
import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  SafetensorsReader,
  writeSafetensors,
} from "../src/io/safetensors.ts";
import { checkpointConfig, loadCheckpoint } from "../src/io/checkpoint.ts";

const MODELS = new URL("./fixtures/models/", import.meta.url).pathname;

function sample(): StateDict {
  return new Map<string, HostTensor>([
    ["a.f16", toHalf({ shape: [3], dtype: "f32", data: new Float32Array([1, -2.5, 65504]) }, "f16")],
    ["b.f32", { shape: [2, 2], dtype: "f32", data: new Float32Array([1, 2, 3, 4]) }],
    ["c.bf16", toHalf({ shape: [2], dtype: "f32", data: new Float32Array([0.15625, -3]) }, "bf16")],
    ["d.i64", { shape: [2], dtype: "i64", data: new BigInt64Array([5n, -(2n ** 40n)]) }],
    ["e.scalar", { shape: [], dtype: "f32", data: new Float32Array([7]) }],
  ]);
}

Deno.test("half conversions round-trip and round to nearest even", () => {
  for (const x of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -0.333251953125]) {
    assertEquals(f16BitsToNumber(numberToF16Bits(x)), x);
  }
  assertEquals(f16BitsToNumber(numberToF16Bits(1 + 2 ** -11)), 1); // tie -> even
  assertEquals(f16BitsToNumber(numberToF16Bits(1e6)), Infinity);
  assertEquals(bf16BitsToNumber(numberToBf16Bits(1 + 2 ** -8)), 1); // tie -> even
  assertEquals(bf16BitsToNumber(numberToBf16Bits(-3)), -3);
});

Deno.test("toInt32 refuses i64 values outside int32 and toFloat32 converts halves", () => {
  const ok = toInt32({ shape: [2], dtype: "i64", data: new BigInt64Array([3n, -(2n ** 31n)]) });
  assertEquals([...ok.data as Int32Array], [3, -(2 ** 31)]);
  assertThrows(
    () => toInt32({ shape: [1], dtype: "i64", data: new BigInt64Array([2n ** 31n]) }, "ids"),
    "ids: element 0 = 2147483648 does not fit in int32",
  );
  assertThrows(() => toInt32({ shape: [1], dtype: "f32", data: new Float32Array(1) }), "integer dtypes only");
  const sd = sample();
  assertEquals([...toFloat32(sd.get("a.f16")!).data as Float32Array], [1, -2.5, 65504]);
  assertEquals([...toFloat32(sd.get("c.bf16")!).data as Float32Array], [0.15625, -3]);
});

Deno.test("safetensors encode/parse round trip with metadata, dtypes, alignment", () => {
  const sd = sample();
  const bytes = encodeSafetensors(sd, { config: '{"x":1}' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(headerLen % 8, 0);
  const { stateDict, metadata } = parseSafetensors(bytes);
  assertEquals(metadata, { config: '{"x":1}' });
  assertEquals(stateDict.size, sd.size);
  for (const [k, t] of sd) {
    const u = stateDict.get(k)!;
    assertEquals(u.shape, t.shape, k);
    assertEquals(u.dtype, t.dtype, k);
    assertEquals([...u.data as ArrayLike<unknown> & Iterable<unknown>], [...t.data as Iterable<unknown>], k);
  }
  const f = parseSafetensors(bytes, { float32: true }).stateDict;
  assertEquals(f.get("a.f16")!.dtype, "f32");
  assertEquals(f.get("d.i64")!.dtype, "i64");
});

function withHeader(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

Deno.test("safetensors header validation names the tensor and the problem", () => {
  const t = (dtype: string, shape: number[], off: number[]) => ({ dtype, shape, data_offsets: off });
  assertThrows(() => parseSafetensors(new Uint8Array(5)), "too short");
  const big = new Uint8Array(16);
  new DataView(big.buffer).setBigUint64(0, 1000n, true);
  assertThrows(() => parseSafetensors(big), "runs past the end of the file");
  assertThrows(
    () => parseSafetensors(withHeader({ w: t("F17", [1], [0, 4]) }, 4)),
    'tensor "w": unknown dtype',
  );
  assertThrows(
    () => parseSafetensors(withHeader({ w: t("F32", [2], [0, 4]) }, 4)),
    'tensor "w": shape [2] x f32 needs 8 bytes, data_offsets span 4',
  );
  assertThrows(
    () => parseSafetensors(withHeader({ w: t("F32", [1], [4, 8]) }, 8)),
    'tensor "w": starts at data offset 4, expected 0',
  );
  assertThrows(() => parseSafetensors(withHeader({ w: t("F32", [1], [0, 4]) }, 8)), "4 trailing bytes");
  assertThrows(
    () => parseSafetensors(withHeader({ w: t("F32", [2], [0, 8]) }, 4)),
    'tensor "w": data_offsets [0,8] run past the end',
  );
  const bad = withHeader({}, 0);
  bad[8] = 0x7b, bad[9] = 0x22; // '{"'
  assertThrows(() => parseSafetensors(bad), "not valid UTF-8 JSON");
});

Deno.test("safetensors streaming reader and atomic write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.safetensors`;
    await writeSafetensors(path, sample(), { note: "hi" });
    const r = await SafetensorsReader.open(path);
    try {
      assertEquals(r.metadata, { note: "hi" });
      assertEquals(new Set(r.names()), new Set(sample().keys()));
      const b = await r.readTensor("b.f32");
      assertEquals([...b.data as Float32Array], [1, 2, 3, 4]);
      const c = await r.readTensor("c.bf16", { float32: true });
      assertEquals([...c.data as Float32Array], [0.15625, -3]);
      let n = 0;
      for await (const [name, t] of r.tensors()) {
        assertEquals(t.shape, sample().get(name)!.shape);
        n++;
      }
      assertEquals(n, 5);
      await assertRejects(() => r.readTensor("nope"), 'no tensor named "nope"');
    } finally {
      r.close();
    }
    assertEquals([...Deno.readDirSync(dir)].length, 1, "no temp files left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fixture clibd_tiny.safetensors: written by python safetensors, readable, has config", async () => {
  const c = await loadCheckpoint(`${MODELS}clibd_tiny.safetensors`);
  assertEquals(c.format, "safetensors");
  const cfg = checkpointConfig(c) as { image: { hidden: number }; text: { vocab: number } };
  assertEquals(cfg.image.hidden, 32);
  assertEquals(
    c.stateDict.get("language_encoder.base_language_encoder.embeddings.word_embeddings.weight")!.shape,
    [
      cfg.text.vocab,
      16,
    ],
  );
  assertEquals(c.stateDict.get("logit_scale")!.shape, []);
  assertEquals((c.stateDict.get("logit_scale")!.data as Float32Array)[0], Math.fround(Math.log(1 / 0.07)));
  // our writer reproduces a file python's safetensors reads identically (byte-level: same tensors back)
  const again =
    parseSafetensors(encodeSafetensors(c.stateDict, c.metadata as Record<string, string>)).stateDict;
  for (const [k, t] of c.stateDict) assertEquals(again.get(k)!.data, t.data, k);
  const ref = await readSafetensors(`${MODELS}reference.safetensors`);
  assertEquals(ref.stateDict.get("input.dna_ids")!.dtype, "i64");
  assertEquals(ref.stateDict.get("out.image")!.shape, [2, 24]);
});
