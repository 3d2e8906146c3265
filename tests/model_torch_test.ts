/**
 * The tiny CLIBD model against PyTorch (scripts/torch_reference.py, computed in
 * float64): embeddings, intermediate activations and gradients of
 * sum(emb * W) for all three towers, on the CPU and the GPU backend, loading
 * both the .safetensors and the .pth fixture.
 */
import { clibdTiny } from "../src/models/config.ts";
import { type ClibdModel, createClibdModel } from "../src/models/clibd.ts";
import type { Backend } from "../src/tensor.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";
import { fixtureInputs, readF64, reference, tinyWeights, values } from "./model_fixture_util.ts";

async function loadTiny(be: Backend, kind: "safetensors" | "pth"): Promise<ClibdModel> {
  const m = createClibdModel(be, clibdTiny());
  const r = m.loadStateDict(await tinyWeights(kind));
  if (r.missing.length || r.unexpected.length) throw new Error(`load: ${JSON.stringify(r)}`);
  return m;
}

const TOL = { rtol: 1e-4, atol: 1e-5 };

/** First row of each batch element of a [B,T,C] fixture (the CLS token). */
function clsRows(a: Float64Array, B: number, T: number, C: number): Float64Array {
  const out = new Float64Array(B * C);
  for (let b = 0; b < B; b++) out.set(a.subarray(b * T * C, b * T * C + C), b * C);
  return out;
}

for (const backend of ["cpu", "gpu"] as const) {
  for (const kind of ["safetensors", "pth"] as const) {
    Deno.test(`tiny CLIBD forward matches PyTorch (${backend}, ${kind})`, async () => {
      const be: Backend = backend === "cpu" ? cpu : await gpu();
      const ref = await reference();
      const m = await loadTiny(be, kind);
      const x = fixtureInputs(be, ref);
      const img = m.image!.forward(x.images, { train: true });
      const dna = m.dna!.forward(x.dna, { train: true });
      const txt = m.text!.forward(x.text, { train: true });
      const check = async (t: Parameters<typeof readF64>[1], key: string) =>
        assertClose(await readF64(be, t), values(ref, key), { ...TOL, what: key });
      await check(img.emb, "out.image");
      await check(dna.emb, "out.dna");
      await check(txt.emb, "out.text");
      await check(img.act!.out.raw, "out.image_raw");
      await check(dna.act!.out.raw, "out.dna_raw");
      await check(txt.act!.out.raw, "out.text_raw");
      // intermediates
      const iv = img.act!.vit;
      await check(iv.blocks[0].x, "act.image.tokens_in");
      await check(iv.blocks[1].x, "act.image.block0");
      assertClose(
        await readF64(be, img.act!.feat),
        clsRows(values(ref, "act.image.final_hidden"), 2, 5, 32),
        {
          ...TOL,
          what: "act.image.final_hidden[:, 0]",
        },
      );
      for (const [tag, a] of [["dna", dna.act!.bert], ["text", txt.act!.bert]] as const) {
        await check(a.layers[0].x, `act.${tag}.embeddings`);
        await check(a.layers[1].x, `act.${tag}.layer0`);
        await check(a.layers[1].ln2.y, `act.${tag}.final_hidden`);
      }
      // also the inference path (no activations kept) and merged LoRA give the same embedding
      assertClose(await readF64(be, m.embedImages(x.images)), values(ref, "out.image"), TOL);
      m.mergeLora();
      assertClose(await readF64(be, m.embedImages(x.images)), values(ref, "out.image"), TOL);
      m.unmergeLora();
      for (const a of [img.act!, dna.act!, txt.act!]) a.rec.release();
      m.release();
    });
  }

  Deno.test(`tiny CLIBD gradients match torch autograd (${backend})`, async () => {
    const be: Backend = backend === "cpu" ? cpu : await gpu();
    const ref = await reference();
    const m = await loadTiny(be, "safetensors");
    m.setTrainMode({ image: "full", dna: "full", text: "full" });
    const x = fixtureInputs(be, ref);
    const gw = (k: string) => be.tensor(Float32Array.from(values(ref, `gradw.${k}`)), [2, 24]);
    const img = m.image!.forward(x.images, { train: true });
    const dImages = m.image!.backward(img.act!, gw("image"), { inputGrad: true })!;
    const dna = m.dna!.forward(x.dna, { train: true });
    m.dna!.backward(dna.act!, gw("dna"));
    const txt = m.text!.forward(x.text, { train: true });
    m.text!.backward(txt.act!, gw("text"));
    const tol = { rtol: 2e-4, atol: 2e-5 };
    assertClose(await readF64(be, dImages), values(ref, "grad.input.images"), { ...tol, what: "d images" });
    for (const key of ref.keys()) {
      if (!key.startsWith("grad.") || key === "grad.objective" || key === "grad.input.images") continue;
      const name = key.slice(5);
      assertClose(await readF64(be, m.store.get(name).grad!), values(ref, key), { ...tol, what: key });
    }
    // text word embeddings: rows used by the batch (row 0 = [PAD] must stay zero: padding_idx)
    const W = "language_encoder.base_language_encoder.embeddings.word_embeddings.weight";
    const ids = values(ref, `gradrows.${W}.ids`), want = values(ref, `gradrows.${W}.values`);
    const g = await readF64(be, m.store.get(W).grad!), C = 16;
    const got = new Float64Array(ids.length * C);
    ids.forEach((id, r) => got.set(g.subarray(id * C, id * C + C), r * C));
    assertClose(got, want, { ...tol, what: "text word-embedding rows" });
    for (let i = 0; i < C; i++) if (g[i] !== 0) throw new Error("padding row 0 got a gradient");
    // params PyTorch never gives a gradient
    for (
      const n of [
        "language_encoder.base_language_encoder.pooler.dense.weight",
        "dna_encoder.base_dna_encoder.cls.predictions.bias",
      ]
    ) {
      if (m.store.get(n).grad !== null) throw new Error(`${n} has a gradient buffer`);
    }
    m.release();
  });
}
