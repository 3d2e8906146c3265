/**
 * The training loop: resuming from a checkpoint continues exactly (2N steps in one go
 * equal N steps, a stop, and N more from last.safetensors), a non-finite loss stops the
 * run with a clear message, and the run folder holds what a user needs.
 */
import { train } from "../src/train/trainer.ts";
import { loadTrainingCheckpoint } from "../src/train/checkpoint.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { assertClose, gpu } from "./helpers.ts";
import { tinyRunConfig } from "./train_fixture.ts";

const quiet = () => {};

Deno.test("resume after a stop continues exactly (2N in one go == N + resume + N)", async () => {
  const be = await gpu();
  const out = await Deno.makeTempDir();
  try {
    const cfg = await tinyRunConfig(out, ["shuffle=per_epoch", "batch_size=16", "contrastive_batch=16"]);
    const oneGo = await train({
      config: cfg,
      be,
      maxSteps: 6,
      noValidation: true,
      log: quiet,
      handleSignals: false,
    });
    assertEquals(oneGo.steps, 6);
    const first = await train({
      config: cfg,
      be,
      maxSteps: 3,
      noValidation: true,
      log: quiet,
      handleSignals: false,
    });
    assertEquals(first.stoppedBy, "max_steps");
    const second = await train({
      config: cfg,
      be,
      resume: first.lastPath,
      maxSteps: 6,
      noValidation: true,
      log: quiet,
      handleSignals: false,
    });
    assertEquals(second.steps, 6);
    const a = await loadTrainingCheckpoint(oneGo.lastPath), b = await loadTrainingCheckpoint(second.lastPath);
    // The epoch boundary was crossed (the split has fewer than 6 batches per epoch).
    assert(a.state.loader.epoch >= 1, `expected to cross an epoch, at ${JSON.stringify(a.state.loader)}`);
    assertEquals(b.state.loader, a.state.loader);
    for (const [name, t] of a.tensors) {
      assertClose(b.tensors.get(name)!.data, t.data, { rtol: 1e-5, atol: 1e-7, what: name });
    }
    for (const [name, t] of a.moments.v) {
      assertClose(b.moments.v.get(name)!.data, t.data, { rtol: 1e-4, atol: 1e-12, what: `v ${name}` });
    }
    assertEquals(second.lastLoss.toFixed(4), oneGo.lastLoss.toFixed(4));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a non-finite loss stops the run before the update, naming the step", async () => {
  const be = await gpu();
  const out = await Deno.makeTempDir();
  try {
    const cfg = await tinyRunConfig(out, ["lr_config.max_lr=1e30", "lr_scheduler=none", "lr_config.lr=1e30"]);
    await assertRejects(
      () => train({ config: cfg, be, noValidation: true, log: quiet, handleSignals: false }),
      "stopped before updating the weights",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a full tiny run validates, writes best/last checkpoints, metrics, config and curves", async () => {
  const be = await gpu();
  const out = await Deno.makeTempDir();
  try {
    const cfg = await tinyRunConfig(out, ["epochs=1", "eval_skip_epoch=-1"]);
    const r = await train({ config: cfg, be, log: quiet, handleSignals: false });
    assert(r.bestPath !== null && r.bestScore !== null && r.bestScore > 0 && r.bestScore <= 1);
    for (const f of ["last.safetensors", "best.safetensors", "metrics.jsonl", "config.yaml", "curves.svg"]) {
      assert((await Deno.stat(`${r.runDir}/${f}`)).size > 0, `${f} is empty`);
    }
    const lines = (await Deno.readTextFile(`${r.runDir}/metrics.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert(lines.some((l) => l.kind === "val" && typeof l.overall_acc === "number"), "no validation record");
    assertEquals(lines.filter((l) => l.kind === "train").length, r.steps);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
