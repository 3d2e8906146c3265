/**
 * `deno task index`: builds a key index (embeddings of a reference split, labels, ids, open-set
 * thresholds) for `deno task identify`.
 *
 *   deno task index --checkpoint FILE [--config YAML] --data HDF5 [--split all_keys] --out DIR
 *       [--f16] [--chunk 512] [--batch 64] [--percentile 5] [--cpu]
 *
 * Resumable: parts of `--chunk` records are written as they finish; rerunning the same command after
 * an interruption continues from the last finished part.
 * @module
 */
import { parseArgs } from "node:util";
import { buildIndex } from "../src/index/build.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { CpuBackend } from "../src/cpu_backend.ts";
import { GpuBackend } from "../src/gpu/gpu_backend.ts";

const USAGE =
  `usage: deno task index --checkpoint FILE [--config YAML] --data HDF5 [--split all_keys] --out DIR
         [--f16] [--chunk 512] [--batch 64] [--percentile 5] [--cpu]`;

function posInt(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--${name}: "${s}" is not a positive integer`);
  return n;
}

async function main(): Promise<void> {
  let v;
  try {
    v = parseArgs({
      args: Deno.args,
      options: {
        checkpoint: { type: "string" },
        config: { type: "string" },
        data: { type: "string" },
        split: { type: "string", default: "all_keys" },
        out: { type: "string" },
        f16: { type: "boolean", default: false },
        chunk: { type: "string", default: "512" },
        batch: { type: "string", default: "64" },
        percentile: { type: "string", default: "5" },
        cpu: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n${USAGE}`);
  }
  if (v.help) return console.log(USAGE);
  for (const r of ["checkpoint", "data", "out"] as const) {
    if (!v[r]) throw new UserError(`--${r} is required\n${USAGE}`);
  }
  const pct = Number(v.percentile);
  if (!(pct >= 0 && pct <= 100)) throw new UserError(`--percentile: "${v.percentile}" is not in 0..100`);
  const be = v.cpu ? new CpuBackend() : await GpuBackend.create();
  const t0 = performance.now();
  let last = 0;
  const res = await buildIndex({
    be,
    checkpoint: v.checkpoint!,
    config: v.config,
    data: v.data!,
    split: v.split!,
    out: v.out!,
    dtype: v.f16 ? "f16" : "f32",
    chunkSize: posInt("chunk", v.chunk!),
    batchSize: posInt("batch", v.batch!),
    calibration: { percentile: pct },
    log: (l) => console.error(`[index] ${l}`),
    onProgress: (d, n) => {
      const now = performance.now();
      if (now - last < 2000 && d < n) return;
      last = now;
      const s = (now - t0) / 1000;
      console.error(`[index] ${d}/${n} records, ${s.toFixed(1)} s`);
    },
  });
  const m = res.manifest!;
  console.error(
    `[index] ${v.out}: ${m.count} keys x ${m.dim} (${m.modalities.join(", ")}, ${m.dtype}); ` +
      `${res.newChunks} part(s) built now, ${res.resumedChunks} resumed; ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  for (const [pair, c] of Object.entries(m.calibration.pairs)) {
    console.error(
      `[index] threshold ${pair}: ${c.threshold === null ? "n/a" : c.threshold.toFixed(4)}` +
        (c.unseenFlagRate === null
          ? ""
          : ` (flags ${(100 * c.unseenFlagRate).toFixed(1)}% of unseen-species keys)`),
    );
  }
}

if (import.meta.main) await runMain("index", main);
