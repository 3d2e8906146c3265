/**
 * `deno task eval`: CLIBD's retrieval evaluation (spec section 6).
 *
 *   deno task eval --embeddings <extracted_feature_from_test_split.hdf5> [--out DIR]
 *       scores released/pre-extracted embeddings (labels_*.json and processed_id_*.json
 *       next to the file);
 *   deno task eval --config <yaml> [--checkpoint <file>] [--data <hdf5>] [--on test|val] [--out DIR]
 *       embeds the query and key splits with a model first.
 *
 * Options: --k 1,3,5   --cpu (search on the CPU reference instead of the GPU).
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readExtractedFeatures } from "../src/eval/embeddings_file.ts";
import { evaluateRetrieval } from "../src/eval/protocol.ts";
import { makeSearch } from "../src/eval/search.ts";
import { writeEvalOutputs } from "../src/eval/outputs.ts";
import { csvMetaFor } from "../src/eval/run_meta.ts";
import { runMain, UserError } from "../src/util/errors.ts";
import { CpuBackend } from "../src/cpu_backend.ts";
import { GpuBackend } from "../src/gpu/gpu_backend.ts";
import type { Backend } from "../src/tensor.ts";
import { resolveConfig } from "../src/config/load.ts";
import { modelConfigFrom } from "../src/config/derived.ts";
import { loadClibdModel } from "../src/models/load.ts";
import { evaluateSplits } from "../src/train/validate.ts";
import { writeExtractedFeatures } from "../src/eval/embeddings_file.ts";
import { findLatestRun } from "../src/train/checkpoint.ts";
import { DEMO_HDF5, ensureDemo } from "../src/data/demo.ts";

const USAGE = `usage:
  deno task eval --embeddings <extracted_feature_from_{test,val}_split.hdf5> [--out DIR] [--k 1,3,5] [--cpu]
  deno task eval --config <yaml> [--checkpoint FILE] [--data HDF5] [--on test|val] [--set k=v] [--out DIR] [--cpu]
  deno task eval            (the demo config with the newest demo run's best checkpoint)`;

/** Entry point (exported for tests). */
export async function main(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        embeddings: { type: "string" },
        config: { type: "string" },
        checkpoint: { type: "string" },
        data: { type: "string" },
        on: { type: "string", default: "test" },
        out: { type: "string" },
        k: { type: "string", default: "1,3,5" },
        cpu: { type: "boolean", default: false },
        set: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n${USAGE}`);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const kList = args.k!.split(",").map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 10) {
      throw new UserError(`--k: "${s}" is not an integer in 1..10`);
    }
    return n;
  }).sort((a, b) => a - b);
  const be: Backend = args.cpu ? new CpuBackend() : await GpuBackend.create();
  const search = makeSearch(be);
  if (args.embeddings) {
    const splits = await readExtractedFeatures(args.embeddings);
    const tag = args.embeddings.match(/extracted_feature_from_(\w+?)_split/)?.[1] ?? args.on!;
    const out = args.out ?? join("runs", `eval-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    console.error(
      `[eval] ${splits.seen.labels.length} seen and ${splits.unseen.labels.length} unseen queries, ` +
        `${splits.keys.labels.length} keys; search on ${be.name}`,
    );
    const res = await evaluateRetrieval(splits.seen, splits.unseen, splits.keys, {
      kList,
      search,
      onProgress: (d, n, what) => console.error(`[eval] ${d}/${n} ${what}`),
    });
    const modal = ["image", "dna", "language"].filter((m) =>
      splits.keys.features[`encoded_${m}_feature` as never]
    );
    const { markdown, paths } = await writeEvalOutputs(out, tag, res, {
      title: `Embeddings ${args.embeddings}`,
      kList,
      learningStrategy: "FineTuning",
      alignment: modal.map((m) => m[0].toUpperCase()).join(","),
      dnaEncoder: "pre-extracted",
      imageEncoder: "pre-extracted",
      languageEncoder: "pre-extracted",
      epochs: 0,
      outputDim: splits.keys.features.encoded_dna_feature?.dim ??
        splits.keys.features.encoded_image_feature?.dim ?? 0,
    });
    console.log(markdown);
    console.error(`[eval] wrote ${Object.values(paths).join(", ")}`);
    return;
  }
  // From a model: config (default: the demo config) + checkpoint (none: the no-alignment baseline).
  const sets = [...(args.set ?? [])];
  if (args.data) sets.push(`data.path=${args.data}`);
  const { config: cfg } = await resolveConfig(args.config ?? null, sets);
  if (cfg.data.path === DEMO_HDF5) await ensureDemo();
  const on = args.on === "val" ? "val" : args.on === "test" ? "test" : null;
  if (!on) throw new UserError(`--on must be "test" or "val", got "${args.on}"`);
  let checkpoint = args.checkpoint;
  if (!checkpoint && !args.config) {
    // `deno task eval` alone: the newest demo run's best checkpoint, if there is one.
    const dir = await findLatestRun(join(cfg.output_dir, cfg.name), "best.safetensors");
    if (dir) checkpoint = join(dir, "best.safetensors");
  }
  if (!checkpoint && cfg.load_ckpt && cfg.ckpt_path) checkpoint = cfg.ckpt_path;
  const out = args.out ??
    join(cfg.output_dir, `eval-${cfg.name}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  console.error(
    `[eval] model ${cfg.name}, weights: ${checkpoint ?? "none (no-alignment baseline: random heads)"}`,
  );
  const model = await loadClibdModel(be, modelConfigFrom(cfg), {
    checkpoint,
    seed: cfg.seed,
    towers: checkpoint ? undefined : {
      image: cfg.image?.checkpoint ?? undefined,
      dna: cfg.dna?.checkpoint ?? undefined,
      text: cfg.language?.checkpoint ?? undefined,
    },
  });
  try {
    const res = await evaluateSplits(model, cfg, on, console.error, async (s) => {
      await writeExtractedFeatures(out, on, s);
    });
    const { markdown, paths } = await writeEvalOutputs(out, on, res, {
      title: `${cfg.name} on ${on} (${checkpoint ?? "no alignment"})`,
      kList,
      ...csvMetaFor(cfg, checkpoint !== undefined),
    });
    console.log(markdown);
    console.error(
      `[eval] wrote ${Object.values(paths).join(", ")} and extracted_feature_from_${on}_split.hdf5`,
    );
  } finally {
    model.release();
  }
}

if (import.meta.main) await runMain("eval", () => main(Deno.args));
