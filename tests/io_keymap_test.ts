import { assert, assertEquals, assertThrows } from "./assert.ts";
import type { HostTensor, StateDict } from "../src/io/host_tensor.ts";
import {
  assertExpected,
  checkExpected,
  detectLayout,
  DNA_PREFIX,
  IMAGE_PREFIX,
  mapBarcodeBert,
  mapClibdCheckpoint,
  mapHfBertText,
  mapTimmVit,
  TEXT_PREFIX,
  toCanonical,
  toClibdLoraNames,
} from "../src/io/keymap.ts";
import { readPth } from "../src/io/pth.ts";
import { readSafetensors } from "../src/io/safetensors.ts";

const MODELS = new URL("./fixtures/models/", import.meta.url).pathname;

function t(...shape: number[]): HostTensor {
  return { shape, dtype: "f32", data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

function sd(entries: [string, HostTensor][]): StateDict {
  return new Map(entries);
}

Deno.test("timm ViT keys -> canonical image keys (fused qkv renamed, head dropped by default)", () => {
  const src = sd([
    ["cls_token", t(1, 1, 8)],
    ["pos_embed", t(1, 5, 8)],
    ["patch_embed.proj.weight", t(8, 3, 16, 16)],
    ["blocks.0.attn.qkv.weight", t(24, 8)],
    ["blocks.0.attn.qkv.bias", t(24)],
    ["blocks.0.attn.proj.weight", t(8, 8)],
    ["blocks.11.mlp.fc1.weight", t(32, 8)],
    ["norm.weight", t(8)],
    ["head.weight", t(1000, 8)],
    ["head.bias", t(1000)],
  ]);
  const r = mapTimmVit(src);
  assertEquals(r.dropped, ["head.weight", "head.bias"]);
  assertEquals([...r.stateDict.keys()], [
    `${IMAGE_PREFIX}cls_token`,
    `${IMAGE_PREFIX}pos_embed`,
    `${IMAGE_PREFIX}patch_embed.proj.weight`,
    `${IMAGE_PREFIX}blocks.0.attn.qkv.qkv.weight`,
    `${IMAGE_PREFIX}blocks.0.attn.qkv.qkv.bias`,
    `${IMAGE_PREFIX}blocks.0.attn.proj.weight`,
    `${IMAGE_PREFIX}blocks.11.mlp.fc1.weight`,
    `${IMAGE_PREFIX}norm.weight`,
  ]);
  assert(r.stateDict.get(`${IMAGE_PREFIX}cls_token`) === src.get("cls_token"), "no copies");
  const kept = mapTimmVit(new Map([["module.head.weight", t(24, 8)]]), { head: "keep" });
  assertEquals([...kept.stateDict.keys()], [`${IMAGE_PREFIX}head.weight`]);
  assertEquals(detectLayout(src.keys()), "timm_vit");
});

Deno.test("BarcodeBERT / BertForMaskedLM (module.-prefixed) -> canonical DNA keys", () => {
  const src = sd([
    ["module.bert.embeddings.word_embeddings.weight", t(1027, 8)],
    ["module.bert.embeddings.position_ids", { shape: [1, 512], dtype: "i64", data: new BigInt64Array(512) }],
    ["module.bert.encoder.layer.0.attention.self.query.weight", t(8, 8)],
    ["module.cls.predictions.bias", t(1027)],
    ["module.cls.predictions.transform.dense.weight", t(8, 8)],
    ["module.cls.predictions.decoder.weight", t(1027, 8)],
    ["module.cls.predictions.decoder.bias", t(1027)],
    ["module.classifier.weight", t(2, 8)],
    ["module.classifier.bias", t(2)],
  ]);
  const r = mapBarcodeBert(src);
  assertEquals(r.dropped, [
    "bert.embeddings.position_ids",
    "cls.predictions.decoder.weight",
    "cls.predictions.decoder.bias",
    "classifier.weight",
    "classifier.bias",
  ]);
  assertEquals([...r.stateDict.keys()], [
    `${DNA_PREFIX}bert.embeddings.word_embeddings.weight`,
    `${DNA_PREFIX}bert.encoder.layer.0.attention.self.query.weight`,
    `${DNA_PREFIX}cls.predictions.bias`,
    `${DNA_PREFIX}cls.predictions.transform.dense.weight`,
  ]);
  // a bare BertModel gets the bert. prefix; keeping the (already replaced) decoder
  const bare = mapBarcodeBert(
    sd([["embeddings.word_embeddings.weight", t(67, 8)], ["cls.predictions.decoder.weight", t(24, 8)]]),
    { decoder: "keep" },
  );
  assertEquals([...bare.stateDict.keys()], [
    `${DNA_PREFIX}bert.embeddings.word_embeddings.weight`,
    `${DNA_PREFIX}cls.predictions.decoder.weight`,
  ]);
  assertEquals(detectLayout(src.keys()), "barcodebert");
});

Deno.test("HF BertModel (plain, bert.-prefixed, BertForMaskedLM) -> canonical text keys", () => {
  for (const prefix of ["", "bert.", "module.bert."]) {
    const src = sd([
      [`${prefix}embeddings.word_embeddings.weight`, t(30522, 8)],
      [`${prefix}embeddings.position_ids`, t(1, 512)],
      [`${prefix}encoder.layer.3.output.LayerNorm.bias`, t(8)],
      [`${prefix}pooler.dense.weight`, t(8, 8)],
      ["cls.predictions.bias", t(30522)],
    ]);
    const r = mapHfBertText(src);
    assertEquals([...r.stateDict.keys()], [
      `${TEXT_PREFIX}embeddings.word_embeddings.weight`,
      `${TEXT_PREFIX}encoder.layer.3.output.LayerNorm.bias`,
      `${TEXT_PREFIX}pooler.dense.weight`,
    ], prefix);
    assertEquals(r.dropped.length, 2, prefix);
  }
  assertEquals(detectLayout(["embeddings.word_embeddings.weight"]), null);
});

Deno.test("CLIBD best.pth: old names renamed, module. stripped, LoRA-mode names unwrapped and restored", () => {
  const src = sd([
    ["module.logit_scale", t()],
    ["image_encoder.lora_vit.blocks.0.attn.qkv.qkv.weight", t(24, 8)],
    ["image_encoder.lora_vit.blocks.0.attn.qkv.linear_a_q.weight", t(4, 8)],
    ["dna_encoder.lora_barcode_bert.bert.encoder.layer.0.attention.self.query.w.weight", t(8, 8)],
    ["dna_encoder.lora_barcode_bert.bert.encoder.layer.0.attention.self.query.w.bias", t(8)],
    ["dna_encoder.lora_barcode_bert.bert.encoder.layer.0.attention.self.query.w_a.weight", t(4, 8)],
    ["dna_encoder.lora_barcode_bert.bert.encoder.layer.0.attention.self.query.w_b.weight", t(8, 4)],
    ["dna_encoder.lora_barcode_bert.bert.embeddings.position_ids", t(1, 16)],
    ["language_encoder.lora_bert.encoder.layer.0.attention.self.value.w.weight", t(8, 8)],
    ["language_encoder.lora_bert.encoder.layer.0.attention.self.value.w_a.weight", t(4, 8)],
    ["language_encoder.proj.weight", t(24, 8)],
  ]);
  const r = mapClibdCheckpoint(src);
  const q = `${DNA_PREFIX}bert.encoder.layer.0.attention.self.query`;
  assertEquals([...r.stateDict.keys()], [
    "logit_scale",
    `${IMAGE_PREFIX}blocks.0.attn.qkv.qkv.weight`,
    `${IMAGE_PREFIX}blocks.0.attn.qkv.linear_a_q.weight`,
    `${q}.weight`,
    `${q}.bias`,
    `${q}.w_a.weight`,
    `${q}.w_b.weight`,
    `${TEXT_PREFIX}encoder.layer.0.attention.self.value.weight`,
    `${TEXT_PREFIX}encoder.layer.0.attention.self.value.w_a.weight`,
    "language_encoder.proj.weight",
  ]);
  assertEquals(r.dropped, ["dna_encoder.lora_barcode_bert.bert.embeddings.position_ids"]);
  const back = [...toClibdLoraNames(r.stateDict).keys()];
  assert(back.includes(`${q}.w.weight`) && back.includes(`${q}.w.bias`) && back.includes(`${q}.w_a.weight`));
  assert(back.includes(`${TEXT_PREFIX}encoder.layer.0.attention.self.value.w.weight`));
  assertEquals(detectLayout(src.keys()), "clibd");
  assertThrows(
    () => mapClibdCheckpoint(sd([["a.lora_vit.x", t(1)], ["a.base_image_encoder.x", t(1)]])),
    'two source keys map to "a.base_image_encoder.x"',
  );
});

Deno.test("checkExpected reports missing, mismatched and unexpected keys", () => {
  const expected = new Map<string, number[]>([["a", [2, 3]], ["b", [4]], ["c", []]]);
  const r = checkExpected(sd([["a", t(3, 2)], ["c", t()], ["z", t(1)]]), expected);
  assertEquals(r.missing, ["b"]);
  assertEquals(r.mismatched, [{ name: "a", expected: [2, 3], got: [3, 2] }]);
  assertEquals(r.unexpected, ["z"]);
  assertEquals(r.ok, false);
  assertThrows(
    () => assertExpected(sd([["a", t(3, 2)]]), expected, "tiny.pth"),
    "tiny.pth does not match the model:\nmissing keys (2):\n  b\n  c\nshape mismatches (1):\n  a: expected [2,3], got [3,2]",
  );
  assertEquals(checkExpected(sd([["a", t(2, 3)], ["b", t(4)], ["c", t()]]), expected).ok, true);
});

Deno.test("fixture natives (timm ViT, HF BertForMaskedLM, HF BertModel) map onto the CLIBD fixture", async () => {
  const clibd = (await readSafetensors(`${MODELS}clibd_tiny.safetensors`)).stateDict;
  const expected = new Map([...clibd].map(([k, v]) => [k, v.shape]));
  const merged: StateDict = new Map();
  const add = (m: StateDict) => {
    for (const [k, v] of m) merged.set(k, v);
  };
  const vit = await readPth(`${MODELS}clibd_tiny.pth`, { stateDictKey: "timm_vit" });
  add(toCanonical(vit.stateDict, "timm_vit", { head: "keep" }).stateDict);
  const dna = await readPth(`${MODELS}clibd_tiny.pth`, { stateDictKey: "hf_bert_dna" });
  add(toCanonical(dna.stateDict, "barcodebert", { decoder: "keep" }).stateDict);
  const text = await readPth(`${MODELS}clibd_tiny.pth`, { stateDictKey: "hf_bert_text" });
  add(toCanonical(text.stateDict, "hf_bert_text").stateDict);
  const r = checkExpected(merged, expected);
  assertEquals(r.unexpected, []);
  assertEquals(r.mismatched, []);
  // what the natives cannot provide: CLIBD's ViT LoRA adapters, the text projection, the logit scale
  const notNative = r.missing.filter((k) => !/linear_[ab]_[qv]\.weight$/.test(k));
  assertEquals(notNative.sort(), [
    "language_encoder.proj.bias",
    "language_encoder.proj.weight",
    "logit_scale",
  ]);
  assertEquals(r.missing.length - notNative.length, 2 * 4);
  for (const [k, v] of merged) assertEquals(v.data, clibd.get(k)!.data, k);
  // and the canonical file maps onto itself
  assertEquals(checkExpected(mapClibdCheckpoint(clibd).stateDict, expected).ok, true);
});
