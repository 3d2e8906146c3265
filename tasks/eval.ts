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
import { runMain, UserError } from "../src/util/errors.ts";
import { CpuBackend } from "../src/cpu_backend.ts";
import { GpuBackend } from "../src/gpu/gpu_backend.ts";
import type { Backend } from "../src/tensor.ts";

const USAGE = `usage:
  deno task eval --embeddings <extracted_feature_from_{test,val}_split.hdf5> [--out DIR] [--k 1,3,5] [--cpu]
  deno task eval --config <yaml> [--checkpoint FILE] [--data HDF5] [--on test|val] [--out DIR] [--cpu]`;

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
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
  throw new UserError(`give --embeddings <file> or --config <yaml>\n${USAGE}`);
}

if (import.meta.main) await runMain("eval", main);
