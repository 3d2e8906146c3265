/**
 * Data-pipeline throughput on the demo dataset (data/demo/demo.hdf5): JPEG decode + CLIBD
 * transform on the main thread (images/s), and whole loader batches with decode workers
 * (batches/s and images/s). CPU-only; the `gpu` column holds the measured value.
 */
import { fileURLToPath } from "node:url";
import type { BenchContext, BenchRow } from "./types.ts";
import { SplitReader } from "../data/records.ts";
import { DataLoader } from "../data/loader.ts";
import { decodeAndTransform } from "../data/image/transforms.ts";

/** Section name for `--only`. */
export const name = "data";

const DEMO = fileURLToPath(new URL("../../data/demo/demo.hdf5", import.meta.url));

/** Measures decode+transform and loader throughput. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const n = ctx.quick ? 32 : 256;
  const r = await SplitReader.open(DEMO, "no_split_and_seen_train", { policy: { warn: () => {} } });
  const recs = r.read(Array.from({ length: n }, (_, i) => i)).filter((x) => x !== null);
  r.close();
  for (const mode of ["eval", "train"] as const) {
    const t0 = performance.now();
    for (const [i, rec] of recs.entries()) {
      await decodeAndTransform(rec!.image!, { mode, resize: 256, crop: 224, seed: i });
    }
    const s = (performance.now() - t0) / 1000;
    rows.push({
      section: name,
      name: `decode+${mode} 224 (1 thread)`,
      gpu: recs.length / s,
      cpu: null,
      unit: "img/s",
    });
  }
  const batch = ctx.quick ? 32 : 128, batches = ctx.quick ? 3 : 8;
  for (const workers of [0, Math.min(4, Math.max(1, (navigator.hardwareConcurrency ?? 2) - 1))]) {
    const l = await DataLoader.create({
      file: DEMO,
      split: "no_split_and_seen_train",
      batchSize: batch,
      mode: "train",
      workers,
      dropLast: true,
      policy: { warn: () => {} },
    });
    let k = 0;
    const t0 = performance.now();
    for await (const _ of l.epoch(0)) if (++k >= batches) break;
    const s = (performance.now() - t0) / 1000;
    l.close();
    rows.push({
      section: name,
      name: `loader train B=${batch}, ${workers} workers`,
      gpu: k / s,
      cpu: null,
      unit: "batch/s",
      note: `${((k * batch) / s).toFixed(0)} img/s`,
    });
  }
  return rows;
}
