import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import {
  type F32Tensor,
  findLatestRun,
  loadTrainingCheckpoint,
  RunFolder,
  runTimestamp,
  saveTrainingCheckpoint,
  type TrainingCheckpoint,
} from "../src/train/checkpoint.ts";
import { writeSafetensors } from "../src/io/safetensors.ts";
import { Rng } from "../src/util/rng.ts";

function rand(shape: number[], rng: Rng): F32Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.next() * 2 - 1;
  return { shape, data };
}

function sample(seed: number): TrainingCheckpoint {
  const rng = new Rng(seed);
  const w = rand([5, 3], rng), b = rand([5], rng), s = rand([], rng);
  // special values must survive bit-exactly
  w.data[0] = NaN;
  w.data[1] = -0;
  w.data[2] = 1e-45;
  return {
    tensors: new Map([["enc.weight", w], ["enc.bias", b], ["logit_scale", s]]),
    moments: {
      m: new Map([["enc.weight", rand([5, 3], rng)], ["logit_scale", rand([], rng)]]),
      v: new Map([["enc.weight", rand([5, 3], rng)], ["logit_scale", rand([], rng)]]),
    },
    state: {
      config: { name: "t", epochs: 3, nested: { lr: 1e-4 } },
      step: 120,
      epoch: 2,
      loader: { epoch: 2, position: 64 },
      rng: { init: 12345, augment: 4294967295 },
      scheduler: { kind: "one_cycle", step: 120, totalSteps: 300 },
      bestScore: 0.4321,
      bestStep: 100,
      startedAt: "2025-01-01T00:00:00.000Z",
    },
  };
}

function bits(t: F32Tensor): Uint32Array {
  return new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
}

Deno.test("checkpoint: save/load round-trip is bit-exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clibd_ckpt_" });
  const path = join(dir, "last.safetensors");
  const ck = sample(1);
  await saveTrainingCheckpoint(path, ck);
  const got = await loadTrainingCheckpoint(path);
  assertEquals(got.formatVersion, 1);
  assert(got.savedAt.length > 0);
  assertEquals([...got.tensors.keys()].sort(), [...ck.tensors.keys()].sort());
  for (const [name, t] of ck.tensors) {
    assertEquals(got.tensors.get(name)!.shape, t.shape);
    assertEquals(bits(got.tensors.get(name)!), bits(t));
  }
  for (const k of ["m", "v"] as const) {
    assertEquals([...got.moments[k].keys()].sort(), [...ck.moments[k].keys()].sort());
    for (const [name, t] of ck.moments[k]) assertEquals(bits(got.moments[k].get(name)!), bits(t));
  }
  assertEquals(got.state, ck.state);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["last.safetensors"]); // no temp files left
});

Deno.test("checkpoint: a failed save leaves the previous file intact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clibd_ckpt_" });
  const path = join(dir, "last.safetensors");
  await saveTrainingCheckpoint(path, sample(1));
  const before = await Deno.readFile(path);

  // crash after the new file is fully written, before it replaces the old one
  let sawTmp = "";
  await assertRejects(
    () =>
      saveTrainingCheckpoint(path, sample(2), {
        beforeCommit: (tmp) => {
          sawTmp = tmp;
          throw new Error("simulated crash");
        },
      }),
    "simulated crash",
  );
  assert(sawTmp.startsWith(path + ".tmp-"), sawTmp);
  assertEquals(await Deno.readFile(path), before);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["last.safetensors"]);

  // inconsistent input is rejected before anything is written
  const bad = sample(3);
  bad.tensors.set("broken", { shape: [4], data: new Float32Array(3) });
  await assertRejects(() => saveTrainingCheckpoint(path, bad), `"broken": shape [4] needs 4 values`);
  const orphan = sample(3);
  orphan.moments.m.set("nope", { shape: [1], data: new Float32Array(1) });
  await assertRejects(() => saveTrainingCheckpoint(path, orphan), `"nope" has no model tensor`);
  assertEquals(await Deno.readFile(path), before);
  assertEquals((await loadTrainingCheckpoint(path)).state.step, 120);
});

Deno.test("checkpoint: clear errors for missing, foreign and future files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clibd_ckpt_" });
  await assertRejects(
    () => loadTrainingCheckpoint(join(dir, "none.safetensors")),
    "training checkpoint not found",
  );

  const weights = join(dir, "weights.safetensors");
  await writeSafetensors(weights, new Map([["w", { shape: [1], dtype: "f32", data: new Float32Array(1) }]]));
  await assertRejects(() => loadTrainingCheckpoint(weights), "is not a training checkpoint");

  const future = join(dir, "future.safetensors");
  await writeSafetensors(future, new Map(), {
    format: "clibd-training-checkpoint",
    format_version: "2",
    state: "{}",
  });
  await assertRejects(() => loadTrainingCheckpoint(future), "format version 2, this program reads version 1");

  const junk = join(dir, "junk.safetensors");
  await Deno.writeTextFile(junk, "not a safetensors file at all");
  await assertRejects(() => loadTrainingCheckpoint(junk), "is not a readable safetensors file");
});

Deno.test("run folders: layout, same-second collisions and findLatestRun", async () => {
  const root = await Deno.makeTempDir({ prefix: "clibd_runs_" });
  assertEquals(await findLatestRun(join(root, "demo")), null);
  const t0 = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
  const a = await RunFolder.create(root, "demo", t0);
  assertEquals(a.dir, join(root, "demo-20250102-030405"));
  assertEquals(runTimestamp(t0), "20250102-030405");
  const b = await RunFolder.create(root, "demo", t0);
  assertEquals(b.dir, join(root, "demo-20250102-030405-2"));
  const c = await RunFolder.create(root, "demo", new Date(Date.UTC(2025, 0, 2, 3, 4, 6)));
  await RunFolder.create(root, "demo_other", new Date(Date.UTC(2026, 0, 1)));
  assertEquals(a.last, join(a.dir, "last.safetensors"));
  assertEquals([a.best, a.metrics, a.config, a.curves].map((p) => p.slice(a.dir.length + 1)), [
    "best.safetensors",
    "metrics.jsonl",
    "config.yaml",
    "curves.svg",
  ]);
  assertEquals(await findLatestRun(join(root, "demo")), c.dir);
  assertEquals(await findLatestRun(join(root, "demo"), "last.safetensors"), null);
  await Deno.writeFile(b.last, new Uint8Array(1));
  assertEquals(await findLatestRun(join(root, "demo"), "last.safetensors"), b.dir);
  assertEquals(await findLatestRun(join(root, "missing", "demo")), null);
});
