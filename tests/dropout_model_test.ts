/**
 * HF-BERT dropout in the DNA and text towers: p = 0 is a no-op, training forwards drop and inference
 * does not, the tower backward matches finite differences of the dropped forward at a fixed seed (f64
 * CPU), GPU == CPU with dropout, and the gradient-cache step with dropout equals the single pass.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClibdConfig, clibdTiny, validateConfig } from "../src/models/config.ts";
import { resolveConfig } from "../src/config/load.ts";
import { modelConfigFrom } from "../src/config/derived.ts";
import { type ClibdModel, createClibdModel } from "../src/models/clibd.ts";
import type { ForwardOptions, Tower, TowerActivations } from "../src/models/tower.ts";
import type { BertInputs } from "../src/models/bert.ts";
import { contrastiveStep, type StepInputs } from "../src/train/step.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assert, assertRejects, assertThrows } from "./assert.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";
import { randomizeParams } from "./model_fixture_util.ts";

const D = 24;
const DNA = "dna_encoder.base_dna_encoder";
const TXT = "language_encoder.base_language_encoder";
type AnyTower = Tower<unknown, TowerActivations>;
type Kind = "dna" | "text";

function makeModel(be: Backend, p: number, seed = 3): ClibdModel {
  const c: ClibdConfig = clibdTiny();
  c.dna!.bert.dropout = p;
  c.text!.bert.dropout = p;
  c.text!.bert.loraRank = 2;
  const m = createClibdModel(be, c, { seed });
  randomizeParams(m.store, 11);
  m.setTrainMode({ image: "full", dna: "full", text: "full" });
  return m;
}

function textInputs(be: Backend, B: number, rng: Rng): BertInputs {
  const T = 20, ids = new Int32Array(B * T), mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = 5 + rng.int(10);
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = t === 0 ? 101 : t < len ? 1000 + rng.int(20000) : t === len ? 102 : 0;
      mask[b * T + t] = t <= len ? 1 : 0;
    }
  }
  return {
    inputIds: be.tensor(ids, [B, T], "i32"),
    tokenTypeIds: be.zeros([B, T], "i32"),
    attentionMask: be.tensor(mask, [B, T]),
  };
}

function dnaInputs(be: Backend, B: number, rng: Rng): Tensor {
  return be.tensor(
    Int32Array.from({ length: B * 11 }, (_, i) => (i % 11 === 0 ? 0 : rng.int(67))),
    [B, 11],
    "i32",
  );
}

function towerInput(be: Backend, kind: Kind, B: number, seed = 5): unknown {
  const rng = new Rng(seed);
  return kind === "dna" ? dnaInputs(be, B, rng) : textInputs(be, B, rng);
}

const tower = (m: ClibdModel, kind: Kind) => m[kind] as unknown as AnyTower;

for (const kind of ["dna", "text"] as const) {
  Deno.test(`${kind} tower: dropout p = 0 train forward == inference; p > 0 drops in training only`, async () => {
    const m0 = makeModel(cpu, 0), m1 = makeModel(cpu, 0.2);
    const x = towerInput(cpu, kind, 3);
    const plain = await cpu.read(tower(m0, kind).embed(x));
    const t0 = tower(m0, kind).forward(x, { train: true, dropoutSeed: 9 });
    assertClose(await cpu.read(t0.emb), plain, { rtol: 0, atol: 0, what: "p=0 train vs embed" });
    t0.act!.rec.release();
    // Same weights (same init seeds): inference with p = 0.2 never drops.
    assertClose(await cpu.read(tower(m1, kind).embed(x)), plain, { rtol: 0, atol: 0, what: "p>0 embed" });
    const opts: ForwardOptions = { train: true, dropoutSeed: 9 };
    const t1 = tower(m1, kind).forward(x, opts);
    const dropped = await cpu.read(t1.emb);
    t1.act!.rec.release();
    let diff = 0;
    for (let i = 0; i < plain.length; i++) diff = Math.max(diff, Math.abs(dropped[i] - plain[i]));
    assert(diff > 1e-4, `train forward with dropout equals inference (max diff ${diff})`);
    // Without a record: the same embedding (same masks); another seed: different masks.
    const nr = tower(m1, kind).forward(x, { ...opts, record: false });
    assert(nr.act === null, "record: false kept activations");
    assertClose(await cpu.read(nr.emb), dropped, { rtol: 0, atol: 0, what: "record false" });
    const other = await cpu.read(
      tower(m1, kind).forward(x, { train: true, record: false, dropoutSeed: 10 }).emb,
    );
    let d2 = 0;
    for (let i = 0; i < plain.length; i++) d2 = Math.max(d2, Math.abs(other[i] - dropped[i]));
    assert(d2 > 1e-4, "a different dropout seed gave the same embedding");
    m0.release();
    m1.release();
  });

  Deno.test(`${kind} tower: a rowOffset chunk reproduces the full batch's dropped rows`, async () => {
    const m = makeModel(cpu, 0.3);
    const full = towerInput(cpu, kind, 5, 8);
    const all = await cpu.read(
      tower(m, kind).forward(full, { train: true, record: false, dropoutSeed: 4 }).emb,
    );
    const rng = new Rng(8);
    const xs = kind === "dna" ? dnaInputs(cpu, 5, rng) : textInputs(cpu, 5, rng);
    const slice = (t: Tensor) => cpu.tensor(t.data.slice(2 * t.shape[1]), [3, t.shape[1]], t.dtype);
    const tail = kind === "dna" ? slice(xs as Tensor) : {
      inputIds: slice((xs as BertInputs).inputIds),
      tokenTypeIds: slice((xs as BertInputs).tokenTypeIds!),
      attentionMask: slice((xs as BertInputs).attentionMask!),
    };
    const part = await cpu.read(
      tower(m, kind).forward(tail, { train: true, record: false, dropoutSeed: 4, rowOffset: 2 }).emb,
    );
    assertClose(part, all.slice(2 * D), { rtol: 1e-6, atol: 1e-7 });
    m.release();
  });

  Deno.test(`${kind} tower backward with dropout matches finite differences of the dropped forward (f64)`, () => {
    const be = cpu64, m = makeModel(be, 0.25), t = tower(m, kind);
    const B = 3, x = towerInput(be, kind, B), rng = new Rng(17);
    const w = Float64Array.from(rng.normalArray(B * D));
    const opts: ForwardOptions = { train: true, dropoutSeed: 123, rowOffset: 1 };
    const { act } = t.forward(x, opts);
    t.backward(act!, be.tensor(w, [B, D]));
    const f = () => {
      const e = t.forward(x, { ...opts, record: false }).emb.data;
      let s = 0;
      for (let i = 0; i < w.length; i++) s += e[i] * w[i];
      return s;
    };
    const P = kind === "dna" ? `${DNA}.bert` : TXT;
    const names = [
      `${P}.embeddings.position_embeddings.weight`,
      `${P}.embeddings.LayerNorm.bias`,
      `${P}.encoder.layer.0.attention.self.query.weight`,
      `${P}.encoder.layer.0.attention.self.key.weight`,
      `${P}.encoder.layer.0.attention.self.value.weight`,
      `${P}.encoder.layer.0.attention.output.dense.weight`,
      `${P}.encoder.layer.1.intermediate.dense.bias`,
      `${P}.encoder.layer.1.output.dense.weight`,
    ];
    for (const name of names) {
      const p = m.store.get(name);
      const idx = [0, 1, 2].map(() => rng.int(p.value.size));
      const fd = finiteDiff(f, p.value.data as Float64Array, 1e-6, idx);
      const g = p.grad!.data;
      assertClose(idx.map((i) => g[i]), idx.map((i) => fd.get(i)!), { rtol: 1e-5, atol: 1e-8, what: name });
    }
    m.release();
  });

  Deno.test(`${kind} tower with dropout: GPU train forward + backward == CPU`, async () => {
    const run = async (be: Backend) => {
      const m = makeModel(be, 0.2), t = tower(m, kind);
      const x = towerInput(be, kind, 3);
      const { emb, act } = t.forward(x, { train: true, dropoutSeed: 31, rowOffset: 2 });
      const e = await be.read(emb);
      t.backward(act!, be.tensor(new Rng(3).normalArray(e.length), emb.shape));
      const grads = new Map<string, Float32Array>();
      for (const p of m.store.trainable()) {
        if (p.name.startsWith(t.prefix)) grads.set(p.name, Float32Array.from(await be.read(p.grad!)));
      }
      m.release();
      return { e, grads };
    };
    const g = await run(await gpu()), c = await run(cpu);
    assertClose(g.e, c.e, { rtol: 1e-4, atol: 1e-6, what: "embedding" });
    assert(g.grads.size === c.grads.size && c.grads.size > 0, "different trainable sets");
    for (const [name, cg] of c.grads) {
      let mx = 0;
      for (const v of cg) mx = Math.max(mx, Math.abs(v));
      assertClose(g.grads.get(name)!, cg, { rtol: 1e-3, atol: Math.max(1e-5 * mx, 1e-6), what: name });
    }
  });
}

function stepInputs(be: Backend, B: number): StepInputs {
  const rng = new Rng(1);
  return {
    images: be.tensor(rng.uniformArray(B * 3 * 32 * 32, 0, 1), [B, 3, 32, 32]),
    dna: dnaInputs(be, B, rng),
    text: textInputs(be, B, rng) as StepInputs["text"],
  };
}

async function stepGrads(be: Backend, chunk: number, dropoutSeed: number) {
  const m = makeModel(be, 0.2, 5);
  m.zeroGrad();
  const r = contrastiveStep(m, stepInputs(be, 7), { chunkSize: chunk, dropoutSeed });
  const loss = (await be.read(r.loss))[0];
  const grads = new Map<string, Float32Array>();
  for (const p of m.store.trainable()) grads.set(p.name, Float32Array.from(await be.read(p.grad!)));
  m.release();
  return { loss, grads };
}

for (const backend of ["cpu", "gpu"] as const) {
  Deno.test(`gradient cache with dropout (chunks of 3 of 7) equals the single pass (${backend})`, async () => {
    const be = backend === "cpu" ? cpu : await gpu();
    const one = await stepGrads(be, 7, 2024), cached = await stepGrads(be, 3, 2024);
    assertClose([cached.loss], [one.loss], { rtol: 1e-5, what: "loss" });
    for (const [name, g] of one.grads) {
      assertClose(cached.grads.get(name)!, g, { rtol: 2e-3, atol: 2e-6, what: name });
    }
    // The seed matters: another step seed gives another loss.
    const other = await stepGrads(be, 7, 2025);
    assert(Math.abs(other.loss - one.loss) > 1e-6, "dropout seed did not change the loss");
  });
}

Deno.test("config: dna/language dropout in [0, 1) is accepted and reaches the model; image dropout is rejected", async () => {
  const dir = fileURLToPath(new URL("../configs/", import.meta.url));
  const base = join(dir, "bioscan1m_image_dna_text.yaml");
  const { config } = await resolveConfig(base);
  const mc = modelConfigFrom(config);
  assert(mc.dna!.bert.dropout === 0.1 && mc.text!.bert.dropout === 0.1, "BIOSCAN configs train with 0.1");
  assert(mc.image!.dropout === 0, "ViT has no dropout");
  const over = await resolveConfig(base, ["dna.dropout=0.3", "language.dropout=0"]);
  assert(modelConfigFrom(over.config).dna!.bert.dropout === 0.3, "override");
  await assertRejects(() => resolveConfig(base, ["dna.dropout=1"]), "must be < 1");
  await assertRejects(() => resolveConfig(base, ["language.dropout=-0.1"]), "must be >= 0");
  await assertRejects(() => resolveConfig(base, ["image.dropout=0.1"]), "unknown");
  const c = clibdTiny();
  c.image!.dropout = 0.1;
  assertThrows(() => validateConfig(c), "image.dropout");
});
