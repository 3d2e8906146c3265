import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { configToJson, configToYaml, DEFAULT_CONFIG_PATH, resolveConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/config/validate.ts";
import {
  chunkSize,
  contrastiveBatch,
  effectiveLr,
  lrScheduleFrom,
  modelConfigFrom,
} from "../src/config/derived.ts";
import { dnaTokenCount, dnaVocabSize } from "../src/data/dna.ts";

const CONFIGS = fileURLToPath(new URL("../configs/", import.meta.url));

async function tmpFiles(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "clibd_cfg_" });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
  return dir;
}

const BASE = `
name: base
image: { image_size: 32, patch_size: 8, hidden: 16, heads: 2, layers: 1, mlp: 32 }
dna: { hidden: 16, heads: 2, layers: 1, intermediate: 32, max_positions: 80 }
language: { hidden: 16, heads: 2, layers: 1, intermediate: 32, max_positions: 32 }
batch_size: 8
epochs: 3
data: { path: sub/data.h5, image_resize: 36, image_crop: 32, dna_k: 4, dna_max_len: 256 }
`;

Deno.test("config: every file in configs/ loads, validates and builds a model config", async () => {
  const names = [...Deno.readDirSync(CONFIGS)].map((e) => e.name).filter((n) => n.endsWith(".yaml")).sort();
  assert(names.length >= 9, `expected the BIOSCAN ports and the demo, got ${names}`);
  for (const n of names) {
    const text = await Deno.readTextFile(join(CONFIGS, n));
    assert(text.startsWith("# "), `${n} must start with a comment saying what it reproduces`);
    const { config } = await resolveConfig(join(CONFIGS, n));
    const m = modelConfigFrom(config);
    assert([m.image, m.dna, m.text].filter(Boolean).length >= 2, n);
  }
});

Deno.test("config: BIOSCAN ports carry CLIBD's final recipe", async () => {
  const c1 = (await resolveConfig(join(CONFIGS, "bioscan1m_image_dna_text.yaml"))).config;
  assertEquals(contrastiveBatch(c1), 500 * 4);
  assertEquals(c1.epochs, 50);
  assertEquals(c1.eval_skip_epoch, 23);
  assertEquals(c1.disable_lora, true);
  assertEquals(c1.shuffle, "fixed");
  // scale_learning_rate: lr x (500 x 4) / 500
  assertEquals(effectiveLr(c1).maxLr, 5e-5 * 4);
  const m = modelConfigFrom(c1);
  assertEquals(m.dna!.seqLen, 133);
  assertEquals(m.dna!.bert.vocabSize, 1027);
  assertEquals(m.text!.bert.hidden, 512);
  assertEquals(m.image!.loraRank, 4);
  assertEquals(m.dna!.bert.loraRank, null);

  const c5 = (await resolveConfig(join(CONFIGS, "bioscan5m_image_dna.yaml"))).config;
  assertEquals([c5.epochs, c5.eval_skip_epoch, c5.dataset, c5.language], [20, 10, "bioscan_5m", null]);
  const lora = (await resolveConfig(join(CONFIGS, "bioscan1m_lora.yaml"))).config;
  assertEquals(modelConfigFrom(lora).text!.bert.loraRank, 4);
  const noAlign = (await resolveConfig(join(CONFIGS, "bioscan1m_no_alignment.yaml"))).config;
  assertEquals(noAlign.load_ckpt, false);
});

Deno.test("config: the default is the demo config and its sizes follow the data settings", async () => {
  const { config, sources } = await resolveConfig();
  assertEquals(sources.files, [DEFAULT_CONFIG_PATH]);
  const m = modelConfigFrom(config);
  assertEquals(m.dna!.seqLen, dnaTokenCount({ k: config.data.dna_k, maxLen: config.data.dna_max_len }));
  assertEquals(m.dna!.bert.vocabSize, dnaVocabSize(config.data.dna_k));
  assertEquals(m.image!.imageSize, config.data.image_crop);
  assertEquals(chunkSize(config), contrastiveBatch(config));
  const sched = lrScheduleFrom(config, 100);
  assert(
    sched.lrAt(30) > sched.lrAt(0) && sched.lrAt(30) > sched.lrAt(100),
    "one-cycle warms up then decays",
  );
});

Deno.test("config: extends merges base-first, null removes a tower, paths resolve per file", async () => {
  const dir = await tmpFiles({
    "base.yaml": BASE,
    "child.yaml": "extends: base.yaml\nname: child\nlanguage: null\nimage: { hidden: 32 }\n",
  });
  await Deno.mkdir(join(dir, "nested"));
  await Deno.writeTextFile(join(dir, "nested", "grandchild.yaml"), "extends: ../child.yaml\nepochs: 7\n");
  const { config, sources } = await resolveConfig(join(dir, "nested", "grandchild.yaml"));
  assertEquals(config.name, "child");
  assertEquals(config.epochs, 7);
  assertEquals(config.language, null);
  assertEquals(config.image!.hidden, 32);
  assertEquals(config.image!.heads, 2); // kept from base (mappings merge)
  assertEquals(config.data.path, join(dir, "sub/data.h5")); // relative to base.yaml, not to the leaf
  assertEquals(sources.files, [
    join(dir, "base.yaml"),
    join(dir, "child.yaml"),
    join(dir, "nested", "grandchild.yaml"),
  ]);
  assertEquals(sources.fields["image.hidden"], join(dir, "child.yaml"));
  assertEquals(sources.fields["epochs"], join(dir, "nested", "grandchild.yaml"));
});

Deno.test("config: --set overrides are typed by the schema", async () => {
  const dir = await tmpFiles({ "base.yaml": BASE });
  const { config, sources } = await resolveConfig(join(dir, "base.yaml"), [
    "epochs=12",
    "lr_config.max_lr=1e-3",
    "fix_temperature=true",
    "data.val_query_splits=val_seen,val_unseen,extra",
    "image.mean=[0.5, 0.5, 0.5]",
    "image.std=0.5,0.5,0.5",
    "dna=null",
    "name=123",
    "contrastive_batch=null",
  ]);
  assertEquals(config.epochs, 12);
  assertEquals(config.lr_config.max_lr, 1e-3);
  assertEquals(config.fix_temperature, true);
  assertEquals(config.data.val_query_splits, ["val_seen", "val_unseen", "extra"]);
  assertEquals(config.image!.mean, [0.5, 0.5, 0.5]);
  assertEquals(config.image!.std, [0.5, 0.5, 0.5]);
  assertEquals(config.dna, null);
  assertEquals(config.name, "123");
  assertEquals(sources.fields["epochs"], "--set epochs=12");
});

Deno.test("config: unknown fields and wrong types name the field path and the file", async () => {
  const dir = await tmpFiles({
    "base.yaml": BASE,
    "typo.yaml": "extends: base.yaml\nimage: { hiden: 8 }\n",
    "wrong.yaml": "extends: base.yaml\nepochs: ten\nlr_config: { max_lr: -1 }\nshuffle: sometimes\n",
  });
  let e = await assertRejects(() => resolveConfig(join(dir, "typo.yaml")), "image.hiden: unknown field");
  assert(e.message.includes(join(dir, "typo.yaml")), e.message);
  assert(e.message.includes(`did you mean "hidden"`), e.message);
  assert(e instanceof ConfigError);

  e = await assertRejects(() => resolveConfig(join(dir, "wrong.yaml")), "epochs: expected an integer");
  assert(e.message.includes(`lr_config.max_lr: must be > 0`), e.message);
  assert(e.message.includes(`shuffle: must be one of per_epoch | fixed | none`), e.message);
  assert(e.message.includes(join(dir, "wrong.yaml")), e.message);
  assert(!e.message.includes("base.yaml"), "errors are blamed on the file that set the value");

  await assertRejects(() => resolveConfig(join(dir, "base.yaml"), ["epochs=many"]), "(in --set epochs=many)");
  await assertRejects(
    () => resolveConfig(join(dir, "base.yaml"), ["image.hiden=3"]),
    "image.hiden: unknown field",
  );
  await assertRejects(
    () => resolveConfig(join(dir, "base.yaml"), ["amp=maybe"]),
    "amp: expected true or false",
  );
  await assertRejects(() => resolveConfig(join(dir, "base.yaml"), ["no-equals"]), "--set expects path=value");
});

Deno.test("config: cross-field and file-level errors are clear", async () => {
  const dir = await tmpFiles({
    "base.yaml": BASE,
    "crop.yaml": "extends: base.yaml\ndata: { image_crop: 48, image_resize: 56 }\n",
    "one.yaml": "extends: base.yaml\ndna: null\nlanguage: null\n",
    "a.yaml": "extends: b.yaml\n",
    "b.yaml": "extends: a.yaml\n",
    "missing.yaml": "extends: nowhere.yaml\n",
    "bad.yaml": "epochs: [1,\n",
  });
  await assertRejects(
    () => resolveConfig(join(dir, "crop.yaml")),
    "image.image_size: 32 differs from data.image_crop 48",
  );
  await assertRejects(() => resolveConfig(join(dir, "one.yaml")), "at least two of image / dna / language");
  await assertRejects(() => resolveConfig(join(dir, "a.yaml")), "extends cycle");
  await assertRejects(() => resolveConfig(join(dir, "missing.yaml")), "config file not found");
  await assertRejects(() => resolveConfig(join(dir, "bad.yaml")), "is not valid YAML");
  await assertRejects(() => resolveConfig(join(dir, "none.yaml")), "config file not found");
});

Deno.test("config: serialised YAML and JSON load back to the same config", async () => {
  const { config, sources } = await resolveConfig(join(CONFIGS, "bioscan1m_image_text.yaml"), ["epochs=3"]);
  const dir = await tmpFiles({ "resolved.yaml": configToYaml(config, sources) });
  const again = await resolveConfig(join(dir, "resolved.yaml"));
  assertEquals(again.config, config);
  assertEquals(JSON.parse(configToJson(config)), JSON.parse(JSON.stringify(config)));
});
