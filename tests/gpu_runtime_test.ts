/**
 * The WebGPU runtime: errors name the kernel, a repeated step reuses pooled buffers
 * instead of allocating, recorded work goes out in one submission, and the bundled
 * WGSL matches kernels/*.wgsl.
 */
import { GpuError } from "../src/gpu/gpu_backend.ts";
import { packParams } from "../src/gpu/gpu_backend.ts";
import { createClibdModel } from "../src/models/clibd.ts";
import { clibdTiny } from "../src/models/config.ts";
import { Rng } from "../src/util/rng.ts";
import { assert, assertRejects } from "./assert.ts";
import { gpu } from "./helpers.ts";

Deno.test("a WebGPU validation error surfaces as a GpuError naming the kernel", async () => {
  const be = await gpu();
  await be.sync();
  const a = be.tensor([1, 2, 3], [3]);
  // axpy binds two tensors; giving one makes the bind group invalid.
  be.dispatch(
    { file: "elementwise", entry: "axpy" },
    packParams({ n: 3, alpha: 1, row: 256, _pad: 0 }, ["alpha"]),
    [a],
    [1],
  );
  const err = await assertRejects(() => be.sync(), "elementwise");
  assert(err instanceof GpuError, `expected GpuError, got ${err.name}`);
  be.release(a);
  await be.sync(); // the backend keeps working afterwards
});

Deno.test("an unknown kernel file is a clear error", async () => {
  const be = await gpu();
  const t = be.tensor([1], [1]);
  try {
    be.dispatch({ file: "no_such_kernel" }, packParams({ n: 1 }), [t], [1]);
    throw new Error("no error");
  } catch (e) {
    assert((e as Error).message.includes("kernels/no_such_kernel.wgsl"), (e as Error).message);
  }
  be.release(t);
});

Deno.test("repeated inference steps reuse pooled buffers and submit once per sync", async () => {
  const be = await gpu();
  const model = createClibdModel(be, clibdTiny(), { seed: 1 });
  const rng = new Rng(2);
  const images = be.keep(be.tensor(rng.uniformArray(4 * 3 * 32 * 32, 0, 1), [4, 3, 32, 32]));
  const step = async () => {
    const e = model.embedImages(images);
    await be.read(e);
    be.release(e);
  };
  await step(); // warm-up: allocates what a step needs
  const created = be.stats.buffersCreated, submits = be.stats.submits, dispatches = be.stats.dispatches;
  await step();
  await step();
  assert(
    be.stats.buffersCreated === created,
    `a repeated step allocated ${be.stats.buffersCreated - created} buffers`,
  );
  const perStep = (be.stats.dispatches - dispatches) / 2;
  assert(perStep > 20, `expected a whole forward of dispatches, got ${perStep}`);
  // Everything recorded between two reads goes out in a single submission.
  assert(be.stats.submits - submits === 2, `${be.stats.submits - submits} submissions for 2 steps`);
  be.release(images);
  model.release();
});

Deno.test("src/gpu/kernel_sources.ts is up to date with kernels/*.wgsl", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      new URL("../scripts/gen_kernels.ts", import.meta.url).pathname,
      "--check",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.code === 0, new TextDecoder().decode(out.stderr));
});
