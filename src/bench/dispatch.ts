/**
 * Benchmark section "dispatch": the fixed costs every op pays on the GPU. A tiny dispatch
 * recorded into a long submission (encoding cost and encoding + execution), a `sync()` round trip,
 * and a one-element readback. These set how many ops per step the runtime can afford.
 * @module
 */
import { axpy } from "../ops/elementwise.ts";
import type { BenchContext, BenchRow } from "./types.ts";

/** Section name for `--only dispatch`. */
export const name = "dispatch";

/** Runs the section. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { be, quick } = ctx;
  const n = quick ? 200 : 2000;
  const rounds = quick ? 5 : 30;
  const y = be.zeros([4]), x = be.tensor([1, 2, 3, 4], [4]);
  axpy(be, y, x, 0.5); // warm-up: pipeline compile, bind group layout
  await be.sync();

  const t0 = performance.now();
  for (let i = 0; i < n; i++) axpy(be, y, x, 0.5);
  const recorded = performance.now();
  await be.sync();
  const done = performance.now();

  const s0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    axpy(be, y, x, 0.5);
    await be.sync();
  }
  const syncMs = (performance.now() - s0) / rounds;

  const r0 = performance.now();
  for (let i = 0; i < rounds; i++) await be.read(y);
  const readMs = (performance.now() - r0) / rounds;

  // Every dispatch added 0.5 * x to y: check the work really ran (n + rounds + 1 dispatches).
  const got = (await be.read(y))[3];
  const want = 4 * 0.5 * (n + rounds + 1);
  if (Math.abs(got - want) > 1e-3 * want) throw new Error(`dispatch bench: y[3] = ${got}, expected ${want}`);
  be.release(x);
  be.release(y);

  const cpuNote = "GPU runtime cost; no CPU counterpart";
  return [
    {
      section: name,
      name: "record tiny dispatch",
      gpu: ((recorded - t0) * 1000) / n,
      cpu: null,
      unit: "us",
      note: `${n} axpy on 4 floats`,
    },
    {
      section: name,
      name: "record + run tiny dispatch",
      gpu: ((done - t0) * 1000) / n,
      cpu: null,
      unit: "us",
      note: `${n} in one submission`,
    },
    {
      section: name,
      name: "sync round trip",
      gpu: syncMs,
      cpu: null,
      unit: "ms",
      note: `one dispatch + await sync(), ${rounds} rounds; ${cpuNote}`,
    },
    {
      section: name,
      name: "readback 16 bytes",
      gpu: readMs,
      cpu: null,
      unit: "ms",
      note: `await read(), ${rounds} rounds`,
    },
  ];
}
