/**
 * Backward of every tower against central finite differences on the f64 CPU
 * backend (random weights, LoRA B nonzero, text BERT with LoRA), plus the
 * training-mode switches: which parameters get gradients in full / LoRA /
 * frozen mode, padding_idx, merged LoRA, and state-dict round trips.
 */
import { type ClibdConfig, clibdTiny } from "../src/models/config.ts";
import { type ClibdModel, createClibdModel } from "../src/models/clibd.ts";
import type { Tower, TowerActivations } from "../src/models/tower.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff } from "./helpers.ts";
import { randomizeParams } from "./model_fixture_util.ts";
import type { BertInputs } from "../src/models/bert.ts";

const D = 24;

/** Tiny config with rank-2 LoRA on the text BERT's query/value (the DNA tower stays LoRA-free). */
function config(): ClibdConfig {
  const c = clibdTiny();
  c.text!.bert.loraRank = 2;
  return c;
}

function makeModel(be: Backend): ClibdModel {
  const m = createClibdModel(be, config(), { seed: 3 });
  randomizeParams(m.store, 11);
  return m;
}

interface Inputs {
  images: Tensor;
  dna: Tensor;
  text: BertInputs;
}

function makeInputs(be: Backend): Inputs {
  const rng = new Rng(5);
  const images = be.tensor(rng.uniformArray(2 * 3 * 32 * 32, 0, 1), [2, 3, 32, 32]);
  const dnaIds = Int32Array.from({ length: 3 * 11 }, (_, i) => (i % 11 === 0 ? 0 : rng.int(67)));
  // Text: [CLS] words [SEP] then [PAD]=0 with mask 0; the second row is shorter.
  const B = 2, T = 20, lens = [9, 5];
  const ids = new Int32Array(B * T), mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lens[b]; t++) {
      ids[b * T + t] = t === 0 ? 101 : t === lens[b] - 1 ? 102 : 1000 + rng.int(29000);
      mask[b * T + t] = 1;
    }
  }
  return {
    images,
    dna: be.tensor(dnaIds, [3, 11], "i32"),
    text: {
      inputIds: be.tensor(ids, [B, T], "i32"),
      tokenTypeIds: be.zeros([B, T], "i32"),
      attentionMask: be.tensor(mask, [B, T]),
    },
  };
}

type AnyTower = Tower<unknown, TowerActivations>;
interface Case {
  tower: (m: ClibdModel) => AnyTower;
  input: (x: Inputs) => unknown;
  batch: number;
  params: string[];
}

const IMG = "image_encoder.base_image_encoder";
const DNA = "dna_encoder.base_dna_encoder";
const TXT = "language_encoder.base_language_encoder";

const CASES: Record<string, Case> = {
  image: {
    tower: (m) => m.image! as unknown as AnyTower,
    input: (x) => x.images,
    batch: 2,
    params: [
      `${IMG}.cls_token`,
      `${IMG}.pos_embed`,
      `${IMG}.patch_embed.proj.weight`,
      `${IMG}.patch_embed.proj.bias`,
      `${IMG}.blocks.0.norm1.weight`,
      `${IMG}.blocks.0.attn.qkv.qkv.weight`,
      `${IMG}.blocks.0.attn.qkv.linear_a_q.weight`,
      `${IMG}.blocks.1.attn.qkv.linear_b_v.weight`,
      `${IMG}.blocks.1.attn.proj.weight`,
      `${IMG}.blocks.1.mlp.fc1.bias`,
      `${IMG}.norm.bias`,
      `${IMG}.head.weight`,
    ],
  },
  dna: {
    tower: (m) => m.dna! as unknown as AnyTower,
    input: (x) => x.dna,
    batch: 3,
    params: [
      `${DNA}.bert.embeddings.word_embeddings.weight`,
      `${DNA}.bert.embeddings.position_embeddings.weight`,
      `${DNA}.bert.embeddings.token_type_embeddings.weight`,
      `${DNA}.bert.embeddings.LayerNorm.weight`,
      `${DNA}.bert.encoder.layer.0.attention.self.key.weight`,
      `${DNA}.bert.encoder.layer.0.attention.output.LayerNorm.bias`,
      `${DNA}.bert.encoder.layer.1.intermediate.dense.bias`,
      `${DNA}.bert.encoder.layer.1.output.dense.weight`,
      `${DNA}.cls.predictions.transform.dense.weight`,
      `${DNA}.cls.predictions.transform.LayerNorm.bias`,
      `${DNA}.cls.predictions.decoder.weight`,
    ],
  },
  text: {
    tower: (m) => m.text! as unknown as AnyTower,
    input: (x) => x.text,
    batch: 2,
    params: [
      `${TXT}.embeddings.word_embeddings.weight`,
      `${TXT}.embeddings.position_embeddings.weight`,
      `${TXT}.encoder.layer.0.attention.self.query.weight`,
      `${TXT}.encoder.layer.0.attention.self.query.w_a.weight`,
      `${TXT}.encoder.layer.0.attention.self.value.w_b.weight`,
      `${TXT}.encoder.layer.1.attention.self.value.bias`,
      `${TXT}.encoder.layer.1.output.LayerNorm.weight`,
      "language_encoder.proj.weight",
    ],
  },
};

/** sum(emb * W) on the f64 backend. */
function objective(emb: Tensor, w: Float64Array): number {
  const e = emb.data;
  let s = 0;
  for (let i = 0; i < w.length; i++) s += e[i] * w[i];
  return s;
}

/** Indices to probe: for embedding tables only rows the batch uses (others have zero gradient). */
function probeIndices(
  name: string,
  size: number,
  cols: number,
  usedRows: number[] | null,
  rng: Rng,
): number[] {
  if (usedRows && name.includes("word_embeddings")) {
    return [0, 1, 2].map(() => usedRows[1 + rng.int(usedRows.length - 1)] * cols + rng.int(cols));
  }
  return [0, 1, 2].map(() => rng.int(size));
}

for (const [tname, tc] of Object.entries(CASES)) {
  Deno.test(`${tname} tower backward matches central finite differences (f64 CPU)`, () => {
    const be = cpu64, m = makeModel(be), x = makeInputs(be), tower = tc.tower(m);
    m.setTrainMode({ image: "full", dna: "full", text: "full" });
    const rng = new Rng(17);
    const w = Float64Array.from(rng.normalArray(tc.batch * D));
    const input = tc.input(x);
    const { act } = tower.forward(input, { train: true });
    tname === "image"
      ? m.image!.backward(act as never, be.tensor(w, [tc.batch, D]), { inputGrad: true })
      : tower.backward(act!, be.tensor(w, [tc.batch, D]));
    const f = () => objective(tower.embed(input), w);
    const ids = tname === "dna" ? x.dna : tname === "text" ? x.text.inputIds : null;
    const used = ids ? [...new Set(ids.data as Int32Array)].sort((a, b) => a - b) : null;
    for (const name of tc.params) {
      const p = m.store.get(name);
      const cols = p.shape[p.shape.length - 1];
      const idx = probeIndices(name, p.value.size, cols, used, rng);
      const fd = finiteDiff(f, p.value.data as Float64Array, 1e-6, idx);
      const g = p.grad!.data;
      assertClose(idx.map((i) => g[i]), idx.map((i) => fd.get(i)!), { rtol: 1e-5, atol: 1e-8, what: name });
    }
    // padding_idx 0: row 0 of the word embeddings is used (DNA's leading token, text [PAD]) but gets no gradient
    if (ids) {
      const p = m.store.get(`${tname === "dna" ? `${DNA}.bert` : TXT}.embeddings.word_embeddings.weight`);
      const C = p.shape[1];
      for (let j = 0; j < C; j++) {
        if (p.grad!.data[j] !== 0) throw new Error(`${tname}: padding row got a gradient`);
      }
    }
  });
}

Deno.test("image tower d(images) matches finite differences (f64 CPU)", () => {
  const be = cpu64, m = makeModel(be), x = makeInputs(be);
  m.setTrainMode({ image: "frozen" });
  const w = Float64Array.from(new Rng(2).normalArray(2 * D));
  const { act } = m.image!.forward(x.images, { train: true });
  const dImg = m.image!.backward(act!, be.tensor(w, [2, D]), { inputGrad: true })!;
  const idx = [0, 257, 1500, 3071, 4000, 6143];
  const fd = finiteDiff(
    () => objective(m.embedImages(x.images), w),
    x.images.data as Float64Array,
    1e-6,
    idx,
  );
  assertClose(idx.map((i) => dImg.data[i]), idx.map((i) => fd.get(i)!), { rtol: 1e-5, atol: 1e-9 });
  if (m.store.trainable().length) throw new Error("frozen model has gradient buffers");
});

/** Runs a backward of sum(emb * W) for every tower; returns name -> gradient copy. */
function allGrads(m: ClibdModel, x: Inputs): Map<string, Float64Array> {
  const rng = new Rng(23);
  for (const tc of Object.values(CASES)) {
    const tower = tc.tower(m);
    const { act } = tower.forward(tc.input(x), { train: true });
    tower.backward(act!, cpu64.tensor(rng.normalArray(tc.batch * D), [tc.batch, D]));
  }
  return new Map(m.store.trainable().map((p) => [p.name, Float64Array.from(p.grad!.data)]));
}

Deno.test("training modes: LoRA mode trains exactly LoRA + heads + logit_scale, with the full-mode values", () => {
  const x = makeInputs(cpu64);
  const full = makeModel(cpu64);
  full.setTrainMode({ image: "full", dna: "full", text: "full" });
  const gFull = allGrads(full, x);
  const lora = makeModel(cpu64);
  lora.setTrainMode({ image: "lora", dna: "lora", text: "lora" });
  const gLora = allGrads(lora, x);
  const expected = [...lora.store.params.values()]
    .filter((p) =>
      /linear_[ab]_[qv]\.weight$|w_[ab]\.weight$|\.head\.|decoder\.|^language_encoder\.proj\.|^logit_scale$/
        .test(p.name)
    )
    .map((p) => p.name).sort();
  const got = [...gLora.keys()].sort();
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new Error(`LoRA-mode trainables:\n${got.join("\n")}\nexpected:\n${expected.join("\n")}`);
  }
  for (const [name, g] of gLora) {
    if (name === "logit_scale") continue; // no loss here, so its gradient stays 0
    assertClose(g, gFull.get(name)!, { rtol: 1e-12, atol: 1e-14, what: name });
  }
  // params PyTorch never gives a gradient
  for (const n of [`${TXT}.pooler.dense.weight`, `${TXT}.pooler.dense.bias`, `${DNA}.cls.predictions.bias`]) {
    if (gFull.has(n)) throw new Error(`${n} got a gradient buffer in full mode`);
  }
  if (gFull.size !== full.store.params.size - 3) throw new Error(`full mode trains ${gFull.size} params`);
  // frozen towers: backward is a no-op on parameters
  const frozen = makeModel(cpu64);
  frozen.setTrainMode({ image: "frozen", dna: "frozen", text: "frozen" });
  if (allGrads(frozen, x).size !== 0) throw new Error("frozen model has gradient buffers");
});

Deno.test("merged LoRA forward equals unmerged, and unmerge restores the weights (f64 CPU)", async () => {
  const be = cpu64, m = makeModel(be), x = makeInputs(be);
  const before = [m.embedImages(x.images), m.embedText(x.text)].map((t) => Float64Array.from(t.data));
  const sd = await m.stateDict();
  m.mergeLora();
  const merged = [m.embedImages(x.images), m.embedText(x.text)].map((t) => Float64Array.from(t.data));
  m.unmergeLora();
  for (let i = 0; i < 2; i++) assertClose(merged[i], before[i], { rtol: 1e-12, atol: 1e-13 });
  const after = await m.stateDict();
  for (const [k, v] of sd) {
    assertClose(after.get(k)!.data as Float32Array, v.data as Float32Array, {
      rtol: 1e-6,
      atol: 1e-7,
      what: k,
    });
  }
});

Deno.test("state dict round trip, shape errors name the key", async () => {
  const a = makeModel(cpu), x = makeInputs(cpu);
  const sd = await a.stateDict();
  if (sd.get("logit_scale")!.shape.length !== 0) throw new Error("logit_scale must export as a scalar");
  const b = createClibdModel(cpu, config(), { seed: 99 });
  b.loadStateDict(sd);
  assertClose(await cpu.read(b.embedDna(x.dna)), await cpu.read(a.embedDna(x.dna)), { rtol: 0, atol: 1e-30 });
  const bad = new Map(sd);
  const key = `${IMG}.blocks.1.mlp.fc1.weight`;
  bad.set(key, { shape: [3, 3], dtype: "f32", data: new Float32Array(9) });
  let msg = "";
  try {
    b.loadStateDict(bad);
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes(key)) throw new Error(`shape error does not name the key: ${msg}`);
  const missing = new Map(sd);
  missing.delete(key);
  let msg2 = "";
  try {
    b.loadStateDict(missing);
  } catch (e) {
    msg2 = (e as Error).message;
  }
  if (!msg2.includes(key)) throw new Error(`strict load does not name the missing key: ${msg2}`);
  if (b.loadStateDict(missing, { strict: false }).missing[0] !== key) throw new Error("non-strict report");
});
