/**
 * Every tower on the GPU backend against the f32 CPU reference: embeddings and
 * all parameter gradients in full mode, random weights (LoRA B nonzero, text
 * BERT with LoRA), batch sizes that are not tile multiples.
 */
import { type ClibdConfig, clibdTiny } from "../src/models/config.ts";
import { type ClibdModel, createClibdModel } from "../src/models/clibd.ts";
import type { Backend, Tensor } from "../src/tensor.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";
import { randomizeParams } from "./model_fixture_util.ts";

function model(be: Backend): ClibdModel {
  const c: ClibdConfig = clibdTiny();
  c.text!.bert.loraRank = 2;
  const m = createClibdModel(be, c, { seed: 1 });
  randomizeParams(m.store, 4);
  m.setTrainMode({ image: "full", dna: "full", text: "full" });
  return m;
}

/** Host inputs for one tower; each built on both backends from the same numbers. */
function inputs(be: Backend, tower: string): unknown {
  const rng = new Rng(9);
  if (tower === "image") return be.tensor(rng.uniformArray(3 * 3 * 32 * 32, 0, 1), [3, 3, 32, 32]);
  if (tower === "dna") {
    return be.tensor(Int32Array.from({ length: 5 * 11 }, () => rng.int(67)), [5, 11], "i32");
  }
  const B = 3, T = 20, ids = new Int32Array(B * T), mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = 4 + 5 * b;
    for (let t = 0; t < len; t++) {
      ids[b * T + t] = 1000 + rng.int(29000);
      mask[b * T + t] = 1;
    }
  }
  return {
    inputIds: be.tensor(ids, [B, T], "i32"),
    tokenTypeIds: be.tensor(Int32Array.from({ length: B * T }, (_, i) => (i % T > 6 ? 1 : 0)), [B, T], "i32"),
    attentionMask: be.tensor(mask, [B, T]),
  };
}

async function run(be: Backend, tower: "image" | "dna" | "text") {
  const m = model(be);
  const t = m[tower]!;
  const x = inputs(be, tower);
  const { emb, act } = (t.forward as (x: unknown, o: unknown) => { emb: Tensor; act: never })(x, {
    train: true,
  });
  const e = await be.read(emb);
  const w = be.tensor(new Rng(3).normalArray(e.length), emb.shape);
  const dx = tower === "image" ? m.image!.backward(act, w, { inputGrad: true }) : t.backward(act, w);
  const grads = new Map<string, Float32Array>();
  for (const p of m.store.trainable()) {
    if (p.name.startsWith(t.prefix)) grads.set(p.name, Float32Array.from(await be.read(p.grad!)));
  }
  return { e, grads, dx: dx ? await be.read(dx) : null };
}

for (const tower of ["image", "dna", "text"] as const) {
  Deno.test(`${tower} tower: GPU forward and backward match the CPU reference`, async () => {
    const g = await run(await gpu(), tower);
    const c = await run(cpu, tower);
    assertClose(g.e, c.e, { rtol: 1e-4, atol: 1e-6, what: "embedding" });
    if (c.dx) assertClose(g.dx!, c.dx, { rtol: 1e-3, atol: 1e-6, what: "d images" });
    if (g.grads.size !== c.grads.size || g.grads.size === 0) throw new Error("different trainable sets");
    for (const [name, cg] of c.grads) {
      // Scale atol to the tensor: f32 accumulation order differs between the backends. The floor
      // covers gradients that are exactly zero in exact arithmetic (a key bias cannot change softmax).
      let mx = 0;
      for (const v of cg) mx = Math.max(mx, Math.abs(v));
      assertClose(g.grads.get(name)!, cg, { rtol: 1e-3, atol: Math.max(1e-5 * mx, 1e-6), what: name });
    }
  });
}
