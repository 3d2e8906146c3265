/**
 * `deno task train`: CLIBD contrastive training (spec 3-4).
 *
 *   deno task train                       tiny demo model on the bundled demo data, then evaluation
 *   deno task train --config configs/bioscan1m_image_dna_text.yaml [--set batch_size=64 ...]
 *   deno task train --resume runs/<run>/last.safetensors   (or --resume latest)
 *
 * Options: --set a.b=c (repeatable), --cpu (TypeScript reference backend), --no-eval
 * (skip the final test-split evaluation), --max-steps N.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { resolveConfig } from "../src/config/load.ts";
import type { RunConfig } from "../src/config/schema.ts";
import { modelConfigFrom } from "../src/config/derived.ts";
import { findLatestRun } from "../src/train/checkpoint.ts";
import { train } from "../src/train/trainer.ts";
import { evaluateSplits } from "../src/train/validate.ts";
import { loadClibdModel } from "../src/models/load.ts";
import { writeEvalOutputs } from "../src/eval/outputs.ts";
import { csvMetaFor } from "../src/eval/run_meta.ts";
import { DEMO_HDF5, ensureDemo } from "../src/data/demo.ts";
import { CpuBackend } from "../src/cpu_backend.ts";
import { GpuBackend } from "../src/gpu/gpu_backend.ts";
import type { Backend } from "../src/tensor.ts";
import { runMain, UserError } from "../src/util/errors.ts";

const USAGE =
  `usage: deno task train [--config FILE] [--set key=value ...] [--resume FILE|latest] [--cpu] [--no-eval] [--max-steps N]`;

/** Evaluates a model on the test splits and writes the report into `dir`; returns the Markdown. */
async function evaluateInto(
  be: Backend,
  cfg: RunConfig,
  dir: string,
  title: string,
  checkpoint: string | undefined,
): Promise<string> {
  const model = await loadClibdModel(be, modelConfigFrom(cfg), { checkpoint, seed: cfg.seed });
  try {
    const res = await evaluateSplits(model, cfg, "test", console.error);
    const { markdown } = await writeEvalOutputs(dir, "test", res, {
      title,
      ...csvMetaFor(cfg, checkpoint !== undefined),
    });
    return markdown;
  } finally {
    model.release();
  }
}

/** Entry point (exported for tests). */
export async function trainMain(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: "string" },
        set: { type: "string", multiple: true, default: [] },
        resume: { type: "string" },
        cpu: { type: "boolean", default: false },
        "no-eval": { type: "boolean", default: false },
        "max-steps": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new UserError(`${(e as Error).message}\n${USAGE}`);
  }
  if (args.help) return console.log(USAGE);
  const { config: cfg, sources } = await resolveConfig(args.config ?? null, args.set);
  if (cfg.data.path === DEMO_HDF5) await ensureDemo();
  let resume = args.resume;
  if (resume === "latest") {
    const dir = await findLatestRun(join(cfg.output_dir, cfg.name), "last.safetensors");
    if (!dir) {
      throw new UserError(
        `--resume latest: no run of "${cfg.name}" with last.safetensors in ${cfg.output_dir}`,
      );
    }
    resume = join(dir, "last.safetensors");
  }
  const maxSteps = args["max-steps"] === undefined ? undefined : Number(args["max-steps"]);
  if (maxSteps !== undefined && !(Number.isInteger(maxSteps) && maxSteps > 0)) {
    throw new UserError(`--max-steps must be a positive integer, got ${args["max-steps"]}`);
  }
  const be: Backend = args.cpu ? new CpuBackend() : await GpuBackend.create();
  const t0 = performance.now();
  const r = await train({ config: cfg, sources, be, resume, maxSteps });
  const minutes = (performance.now() - t0) / 60000;
  console.error(
    `[train] ${r.steps} steps in ${minutes.toFixed(1)} min; last loss ${r.lastLoss.toFixed(4)}; ` +
      `best validation score ${r.bestScore === null ? "n/a" : (100 * r.bestScore).toFixed(2) + "%"}`,
  );
  console.error(`[train] checkpoints: ${r.lastPath}${r.bestPath ? `, ${r.bestPath}` : ""}`);
  if (args["no-eval"] || r.stoppedBy !== "done") return;
  // Test-split evaluation of the best checkpoint next to the untrained model (same seed).
  const trained = await evaluateInto(
    be,
    cfg,
    r.runDir,
    `${cfg.name} (trained, best checkpoint)`,
    r.bestPath ?? r.lastPath,
  );
  const untrained = await evaluateInto(
    be,
    cfg,
    join(r.runDir, "untrained"),
    `${cfg.name} (untrained)`,
    undefined,
  );
  console.log(trained);
  console.log(untrained);
  console.error(
    `[train] reports: ${join(r.runDir, "report_test.md")}, ${join(r.runDir, "untrained", "report_test.md")}`,
  );
}

if (import.meta.main) await runMain("train", () => trainMain(Deno.args));
