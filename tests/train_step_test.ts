/**
 * The gradient-cache training step: gradients of a batch split into chunks equal
 * the single-pass gradients, and the loss equals CLIBD's formula recomputed on the
 * CPU from the embeddings.
 */
import { createClibdModel } from "../src/models/clibd.ts";
import { clibdTiny } from "../src/models/config.ts";
import { contrastiveStep, type StepInputs } from "../src/train/step.ts";
import { Rng } from "../src/util/rng.ts";
import type { Backend } from "../src/tensor.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";

function inputs(be: Backend, B: number, seed: number): StepInputs {
  const rng = new Rng(seed);
  const ids = new Int32Array(B * 20), types = new Int32Array(B * 20), mask = new Float32Array(B * 20);
  for (let b = 0; b < B; b++) {
    const len = 5 + rng.int(10);
    for (let t = 0; t < 20; t++) {
      ids[b * 20 + t] = t === 0 ? 101 : t < len ? 1000 + rng.int(20000) : t === len ? 102 : 0;
      mask[b * 20 + t] = t <= len ? 1 : 0;
    }
  }
  const dna = new Int32Array(B * 11);
  for (let i = 0; i < dna.length; i++) dna[i] = i % 11 === 0 ? 0 : rng.int(67);
  return {
    images: be.tensor(rng.uniformArray(B * 3 * 32 * 32, 0, 1), [B, 3, 32, 32]),
    dna: be.tensor(dna, [B, 11], "i32"),
    text: {
      inputIds: be.tensor(ids, [B, 20], "i32"),
      tokenTypeIds: be.tensor(types, [B, 20], "i32"),
      attentionMask: be.tensor(mask, [B, 20]),
    },
  };
}

async function gradsAfterStep(
  be: Backend,
  chunk: number,
): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const model = createClibdModel(be, clibdTiny(), { seed: 5 });
  model.setTrainMode({ image: "full", dna: "full", text: "full" });
  model.zeroGrad();
  const inp = inputs(be, 7, 1);
  const r = contrastiveStep(model, inp, { chunkSize: chunk });
  const loss = (await be.read(r.loss))[0];
  const grads = new Map<string, Float32Array>();
  for (const p of model.store.trainable()) grads.set(p.name, Float32Array.from(await be.read(p.grad!)));
  model.release();
  return { loss, grads };
}

for (const backend of ["cpu", "gpu"] as const) {
  Deno.test(`gradient cache (chunks of 3 of 7) equals the single pass (${backend})`, async () => {
    const be = backend === "cpu" ? cpu : await gpu();
    const one = await gradsAfterStep(be, 7);
    const cached = await gradsAfterStep(be, 3);
    assertClose([cached.loss], [one.loss], { rtol: 1e-5, what: "loss" });
    let checked = 0;
    for (const [name, g] of one.grads) {
      assertClose(cached.grads.get(name)!, g, { rtol: 2e-3, atol: 2e-6, what: name });
      checked++;
    }
    if (checked < 50) throw new Error(`only ${checked} trainable parameters`);
    // logit_scale is trained and gets a gradient
    if (!one.grads.has("logit_scale")) throw new Error("logit_scale has no gradient");
  });
}

Deno.test("step loss equals CLIBD's mean of directed cross-entropies recomputed from embeddings", async () => {
  const be = cpu;
  const model = createClibdModel(be, clibdTiny(), { seed: 9 });
  model.setTrainMode({ image: "full", dna: "full", text: "full" });
  const inp = inputs(be, 5, 2);
  const embs = [model.embedImages(inp.images!), model.embedDna(inp.dna!), model.embedText(inp.text!)].map((
    t,
  ) => Float64Array.from(t.data));
  const s = Math.exp(model.logitScale.value.data[0]);
  const B = 5, D = 24;
  let total = 0, terms = 0;
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      if (a === b) continue;
      for (let i = 0; i < B; i++) {
        const logits = [...Array(B)].map((_, j) => {
          let d = 0;
          for (let c = 0; c < D; c++) d += embs[a][i * D + c] * embs[b][j * D + c];
          return s * d;
        });
        const m = Math.max(...logits);
        const lse = m + Math.log(logits.reduce((acc, x) => acc + Math.exp(x - m), 0));
        total += (lse - logits[i]) / B;
      }
      terms++;
    }
  }
  model.zeroGrad();
  const r = contrastiveStep(model, inp, { chunkSize: 5 });
  assertClose([(await be.read(r.loss))[0]], [total / terms], { rtol: 1e-5 });
});
