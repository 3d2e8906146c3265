/**
 * loadClibdModel end to end on the tiny fixtures: the .pth and .safetensors checkpoints give the
 * same parameters and PyTorch's reference embeddings; tower-only loading from the native
 * timm / HF-keyed dicts fills the backbones and leaves the new heads at their random init; broken
 * checkpoints (wrong shape, missing key) fail with an error naming the file and the key.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { assertClose, cpu } from "./helpers.ts";
import { fixtureInputs, readF64, reference, values } from "./model_fixture_util.ts";
import { loadClibdModel } from "../src/models/load.ts";
import { createClibdModel } from "../src/models/clibd.ts";
import { clibdTiny } from "../src/models/config.ts";
import { readPth } from "../src/io/pth.ts";
import { readSafetensors } from "../src/io/safetensors.ts";
import { saveCheckpoint } from "../src/io/checkpoint.ts";
import type { HostTensor, StateDict } from "../src/io/host_tensor.ts";

const DIR = new URL("./fixtures/models/", import.meta.url).pathname;
const ST = `${DIR}clibd_tiny.safetensors`, PTH = `${DIR}clibd_tiny.pth`;
const tmp = await Deno.makeTempDir({ prefix: "clibd_model_load_" });

function f32(t: HostTensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

function assertSameDicts(a: StateDict, b: StateDict, what: string): void {
  assertEquals([...a.keys()].sort(), [...b.keys()].sort(), `${what}: keys`);
  for (const [k, t] of a) {
    const u = b.get(k)!;
    assertEquals(t.shape, u.shape, `${what}: shape of ${k}`);
    assertEquals(f32(t), f32(u), `${what}: values of ${k}`);
  }
}

Deno.test("loadClibdModel: .pth and .safetensors give identical parameters and PyTorch's embeddings", async () => {
  const ref = await reference();
  const a = await loadClibdModel(cpu, clibdTiny(), { checkpoint: ST });
  const b = await loadClibdModel(cpu, clibdTiny(), { checkpoint: PTH });
  const sa = await a.stateDict(), sb = await b.stateDict();
  assertSameDicts(sa, sb, "pth vs safetensors");
  // And both equal the file's own tensors (not just each other).
  const file = (await readSafetensors(ST)).stateDict;
  assertSameDicts(sa, file, "loaded vs file");
  for (const m of [a, b]) {
    const x = fixtureInputs(cpu, ref);
    const tol = { rtol: 1e-4, atol: 1e-5 };
    assertClose(await readF64(cpu, m.embedImages(x.images)), values(ref, "out.image"), {
      ...tol,
      what: "image",
    });
    assertClose(await readF64(cpu, m.embedDna(x.dna)), values(ref, "out.dna"), { ...tol, what: "dna" });
    assertClose(await readF64(cpu, m.embedText(x.text)), values(ref, "out.text"), { ...tol, what: "text" });
    m.release();
  }
});

Deno.test("loadClibdModel: towers from native timm / HF dicts load the backbones, heads stay random", async () => {
  const canonical = (await readSafetensors(ST)).stateDict;
  const paths: Record<string, string> = {};
  for (const [tower, key] of [["image", "timm_vit"], ["dna", "hf_bert_dna"], ["text", "hf_bert_text"]]) {
    const sd = (await readPth(PTH, { stateDictKey: key })).stateDict;
    paths[tower] = `${tmp}/${key}.safetensors`;
    await saveCheckpoint(paths[tower], sd);
  }
  const seed = 5;
  const m = await loadClibdModel(cpu, clibdTiny(), { towers: paths, seed });
  const fresh = createClibdModel(cpu, clibdTiny(), { seed });
  const got = await m.stateDict(), init = await fresh.stateDict();
  const heads = [
    /^image_encoder\.base_image_encoder\.head\./,
    /linear_[ab]_[qv]\.weight$/, // timm has no LoRA
    /^dna_encoder\.base_dna_encoder\.cls\.predictions\.decoder\./,
    /^language_encoder\.proj\./,
    /^logit_scale$/,
  ];
  let loaded = 0, random = 0;
  for (const [k, t] of got) {
    if (heads.some((re) => re.test(k))) {
      assertEquals(f32(t), f32(init.get(k)!), `${k} should keep its random init`);
      random++;
    } else {
      assertEquals(f32(t), f32(canonical.get(k)!), `${k} should come from the tower checkpoint`);
      loaded++;
    }
  }
  assert(loaded > 40 && random >= 8, `loaded ${loaded}, random ${random}`);
  // The heads really differ from the fixture (so the check above can tell the two apart).
  const headKey = "language_encoder.proj.weight";
  assert(f32(got.get(headKey)!).some((v, i) => v !== f32(canonical.get(headKey)!)[i]), "head equals fixture");
  m.release();
  fresh.release();
});

Deno.test("loadClibdModel: wrong shape and missing key name the file and the key", async () => {
  const sd = (await readSafetensors(ST)).stateDict;
  const key = "dna_encoder.base_dna_encoder.cls.predictions.decoder.weight";
  const wrong: StateDict = new Map(sd);
  const t = sd.get(key)!;
  wrong.set(key, { shape: [t.shape[0], t.shape[1] - 1], dtype: "f32", data: f32(t).slice(t.shape[0]) });
  const wrongPath = `${tmp}/wrong_shape.safetensors`;
  await saveCheckpoint(wrongPath, wrong);
  const e1 = await assertRejects(() => loadClibdModel(cpu, clibdTiny(), { checkpoint: wrongPath }));
  assert(e1.message.includes(wrongPath) && e1.message.includes(key), e1.message);

  const missingKey = "image_encoder.base_image_encoder.blocks.1.mlp.fc2.bias";
  const missing: StateDict = new Map(sd);
  missing.delete(missingKey);
  const missingPath = `${tmp}/missing_key.safetensors`;
  await saveCheckpoint(missingPath, missing);
  const e2 = await assertRejects(() => loadClibdModel(cpu, clibdTiny(), { checkpoint: missingPath }));
  assert(e2.message.includes(missingPath) && e2.message.includes(missingKey), e2.message);
  assert(/missing/.test(e2.message), e2.message);
});
