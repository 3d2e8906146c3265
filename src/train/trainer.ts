/**
 * The training loop (spec 4): contrastive steps over the training split with AdamW
 * and a per-step LR schedule, validation with CLIBD's retrieval protocol after the
 * configured epochs, and checkpoints that survive crashes:
 *
 * - `last.safetensors` (model + AdamW moments + loader position + schedule step) every
 *   `checkpoint_every` steps, at the end of each epoch, and on SIGINT/SIGTERM;
 * - `best.safetensors` (model weights + config) whenever CLIBD's model-selection score
 *   (mean of all top-1 accuracies on the validation queries) improves;
 * - a NaN or infinite loss stops the run before the update that would spread it, and
 *   the last checkpoint written stays the last good one.
 *
 * Resuming from `last.safetensors` continues exactly: same weights, moments, schedule
 * step and position in the same epoch order.
 * @module
 */
import type { Backend } from "../tensor.ts";
import type { RunConfig } from "../config/schema.ts";
import { type ConfigSources, configToJson } from "../config/load.ts";
import { chunkSize, contrastiveBatch, lrScheduleFrom, modelConfigFrom } from "../config/derived.ts";
import { type ClibdModel, createClibdModel } from "../models/clibd.ts";
import { loadClibdModel } from "../models/load.ts";
import type { TrainMode } from "../models/params.ts";
import type { HostTensor, StateDict } from "../io/host_tensor.ts";
import { saveCheckpoint } from "../io/checkpoint.ts";
import { DataLoader } from "../data/loader.ts";
import { batchToDevice } from "../data/to_device.ts";
import { contrastiveStep } from "./step.ts";
import { dropoutHash } from "../ops/dropout.ts";
import { AdamW } from "./optimizer.ts";
import {
  type F32Tensor,
  loadTrainingCheckpoint,
  RunFolder,
  saveTrainingCheckpoint,
  type TrainingState,
} from "./checkpoint.ts";
import { MetricsLog, writeResolvedConfig } from "./log.ts";
import { writeCurves } from "./curves.ts";
import { Progress } from "./progress.ts";
import { onInterrupt } from "./signals.ts";
import { validate } from "./validate.ts";
import { UserError } from "../util/errors.ts";

/** Separates the dropout seed stream from other uses of the config seed ("drop"). */
const DROPOUT_SALT = 0x64726f70;

/** Options of {@link train}. */
export interface TrainOptions {
  /** The resolved run config. */
  config: RunConfig;
  /** Where its values came from (recorded in the run folder). */
  sources?: ConfigSources;
  /** Backend to train on. */
  be: Backend;
  /** A `last.safetensors` to continue from (its run folder is reused). */
  resume?: string;
  /** Stop after this many optimiser steps in total (tests; a simulated kill). */
  maxSteps?: number;
  /** Skip validation (tests). */
  noValidation?: boolean;
  /** Messages (default stderr). */
  log?: (msg: string) => void;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
}

/** Outcome of {@link train}. */
export interface TrainResult {
  /** The run folder (config, metrics, checkpoints). */
  runDir: string;
  /** Optimiser steps taken in total. */
  steps: number;
  /** Loss of the last step taken. */
  lastLoss: number;
  /** Best validation overall top-1 accuracy in [0, 1]; null when no validation ran. */
  bestScore: number | null;
  /** Checkpoint of the best validation, or null. */
  bestPath: string | null;
  /** The last checkpoint (`last.safetensors`). */
  lastPath: string;
  /** Why training ended: all epochs done, or `maxSteps` reached. */
  stoppedBy: "done" | "max_steps";
}

/** The training mode of a tower from the config (CLIBD: `disable_lora` true = full fine-tuning). */
export function towerMode(cfg: RunConfig, freeze: boolean): TrainMode {
  if (freeze) return "frozen";
  return cfg.disable_lora ? "full" : "lora";
}

async function modelTensors(model: ClibdModel): Promise<Map<string, F32Tensor>> {
  const out = new Map<string, F32Tensor>();
  for (const [k, t] of await model.stateDict()) {
    out.set(k, { shape: [...t.shape], data: t.data as Float32Array });
  }
  return out;
}

function toStateDict(tensors: Map<string, F32Tensor>): StateDict {
  const sd: StateDict = new Map();
  for (const [k, t] of tensors) sd.set(k, { shape: t.shape, dtype: "f32", data: t.data } as HostTensor);
  return sd;
}

/** Trains a CLIBD model as configured; returns where the checkpoints are. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const cfg = opts.config, be = opts.be;
  const log = opts.log ?? ((m: string) => console.error(m));
  const modelCfg = modelConfigFrom(cfg);

  // ---- model, run folder and state (fresh or resumed)
  let model: ClibdModel;
  let run: RunFolder;
  let step = 0, epoch0 = 0, position0 = 0;
  let bestScore: number | null = null, bestStep: number | null = null;
  let startedAt = new Date().toISOString();
  const opt = new AdamW(be, {
    beta1: cfg.optimizer.beta1,
    beta2: cfg.optimizer.beta2,
    eps: cfg.optimizer.eps,
    weightDecay: cfg.optimizer.weight_decay,
  });
  let resumed: Awaited<ReturnType<typeof loadTrainingCheckpoint>> | null = null;
  if (opts.resume) {
    resumed = await loadTrainingCheckpoint(opts.resume);
    const savedName = (resumed.state.config as { name?: string })?.name;
    if (savedName !== undefined && savedName !== cfg.name) {
      throw new UserError(`${opts.resume} was saved by run config "${savedName}", not "${cfg.name}"`);
    }
    run = new RunFolder(opts.resume.replace(/\/[^/]*$/, ""));
    model = createClibdModel(be, modelCfg, { seed: cfg.seed });
    try {
      model.loadStateDict(toStateDict(resumed.tensors));
    } catch (e) {
      throw new UserError(`${opts.resume}: ${(e as Error).message}`);
    }
    step = resumed.state.step;
    epoch0 = resumed.state.loader.epoch;
    position0 = resumed.state.loader.position;
    bestScore = resumed.state.bestScore;
    bestStep = resumed.state.bestStep;
    startedAt = resumed.state.startedAt;
    log(`[train] resuming ${opts.resume} at step ${step} (epoch ${epoch0}, position ${position0})`);
  } else {
    model = await loadClibdModel(be, modelCfg, {
      seed: cfg.seed,
      checkpoint: cfg.load_ckpt && cfg.ckpt_path ? cfg.ckpt_path : undefined,
      towers: {
        image: cfg.image?.checkpoint ?? undefined,
        dna: cfg.dna?.checkpoint ?? undefined,
        text: cfg.language?.checkpoint ?? undefined,
      },
    });
    run = await RunFolder.create(cfg.output_dir, cfg.name);
  }
  model.setTrainMode({
    image: cfg.image ? towerMode(cfg, cfg.image.freeze) : undefined,
    dna: cfg.dna ? towerMode(cfg, cfg.dna.freeze) : undefined,
    text: cfg.language ? towerMode(cfg, cfg.language.freeze) : undefined,
    logitScale: !cfg.fix_temperature,
  });
  if (resumed) {
    const mv = new Map<string, { m: Float32Array; v: Float32Array }>();
    for (const [k, m] of resumed.moments.m) mv.set(k, { m: m.data, v: resumed.moments.v.get(k)!.data });
    opt.load(step, mv, model.store.trainable());
  }

  // ---- data
  const B = contrastiveBatch(cfg);
  const loader = await DataLoader.create({
    file: cfg.data.path,
    split: cfg.data.train_split,
    batchSize: B,
    shuffle: cfg.shuffle,
    seed: cfg.seed,
    dropLast: true,
    mode: "train",
    resize: cfg.data.image_resize,
    crop: cfg.data.image_crop,
    images: !!cfg.image,
    dna: { k: cfg.data.dna_k, maxLen: cfg.data.dna_max_len },
    workers: cfg.data.workers ?? undefined,
    limit: cfg.data.train_limit ?? undefined,
  });
  const perEpoch = loader.batchesPerEpoch;
  if (perEpoch === 0) {
    loader.close();
    throw new UserError(
      `split ${cfg.data.train_split} of ${cfg.data.path} has ${loader.size} records, fewer than one batch of ${B}`,
    );
  }
  const totalSteps = perEpoch * cfg.epochs;
  const schedule = lrScheduleFrom(cfg, totalSteps);
  const want = { image: !!model.image, dna: !!model.dna, text: !!model.text };

  await writeResolvedConfig(run.config, cfg, opts.sources);
  const metrics = await MetricsLog.open(run.metrics, { dropAfterStep: resumed ? step : undefined });
  log(
    `[train] ${cfg.name}: ${loader.size} records in ${cfg.data.train_split}, contrastive batch ${B} ` +
      `(chunks of ${
        chunkSize(cfg)
      }), ${perEpoch} steps/epoch x ${cfg.epochs} epochs = ${totalSteps} steps; ` +
      `${model.store.trainable().length} trainable tensors; run folder ${run.dir}`,
  );

  let position = position0, epoch = epoch0;
  const state = (at: { epoch: number; position: number }): TrainingState => ({
    config: JSON.parse(configToJson(cfg)),
    step,
    epoch: at.epoch,
    loader: at,
    rng: { seed: cfg.seed },
    scheduler: { kind: cfg.lr_scheduler, step, totalSteps },
    bestScore,
    bestStep,
    startedAt,
  });
  /** Saves everything needed to continue from loader position `at` (default: where the loop is). */
  const saveLast = async (at = { epoch, position }) => {
    const tensors = await modelTensors(model);
    const m = new Map<string, F32Tensor>(), v = new Map<string, F32Tensor>();
    for (const p of model.store.trainable()) {
      const mt = opt.m.get(p.name), vt = opt.v.get(p.name);
      if (!mt || !vt) continue;
      const shape = tensors.get(p.name)!.shape;
      m.set(p.name, { shape, data: Float32Array.from(await be.read(mt)) });
      v.set(p.name, { shape, data: Float32Array.from(await be.read(vt)) });
    }
    await saveTrainingCheckpoint(run.last, { tensors, moments: { m, v }, state: state(at) });
  };
  const removeSignals = opts.handleSignals === false ? () => {} : onInterrupt(async () => {
    log(`[train] interrupted: saving ${run.last} (step ${step})`);
    await saveLast();
  }, { log });

  let lastLoss = NaN;
  let stoppedBy: TrainResult["stoppedBy"] = "done";
  try {
    outer: for (; epoch < cfg.epochs; epoch++) {
      const bar = new Progress({ label: `epoch ${epoch + 1}/${cfg.epochs}`, total: perEpoch, unit: "step" });
      bar.update(Math.floor(position / B));
      const t0 = performance.now();
      let samples = 0;
      for await (const batch of loader.epoch(epoch, position)) {
        if (opts.maxSteps !== undefined && step >= opts.maxSteps) {
          stoppedBy = "max_steps";
          break outer;
        }
        const loss = await be.tidy(() => {
          model.zeroGrad();
          const r = contrastiveStep(model, batchToDevice(be, batch, want), {
            chunkSize: chunkSize(cfg),
            fixTemperature: cfg.fix_temperature,
            // A function of (seed, global step) only, so a resumed run draws the same masks.
            dropoutSeed: dropoutHash(cfg.seed >>> 0, step, DROPOUT_SALT),
          });
          return r.loss;
        });
        const lossValue = (await be.read(loss))[0];
        be.release(loss);
        if (!Number.isFinite(lossValue)) {
          throw new UserError(
            `loss is ${lossValue} at step ${step} (epoch ${
              epoch + 1
            }); stopped before updating the weights. ` +
              `The last good checkpoint is ${run.last} (if one was written). Try a lower lr_config.max_lr.`,
          );
        }
        const lr = schedule.lrAt(step);
        opt.update(model.store.trainable(), lr);
        step++;
        position = batch.position;
        lastLoss = lossValue;
        samples += batch.size;
        const scale = Math.exp((await be.read(model.logitScale.value))[0]);
        const rate = samples / ((performance.now() - t0) / 1000);
        bar.tick(1, { loss: lossValue, lr, scale, "samples/s": rate });
        if (step % cfg.log_every === 0 || step === 1) {
          await metrics.write({
            kind: "train",
            step,
            epoch,
            loss: lossValue,
            lr,
            logit_scale: Math.log(scale),
            samples_per_s: rate,
          });
        }
        if (cfg.checkpoint_every && step % cfg.checkpoint_every === 0) await saveLast();
      }
      bar.finish();
      position = 0;
      const lastEpoch = epoch === cfg.epochs - 1;
      if (
        !opts.noValidation && epoch > cfg.eval_skip_epoch &&
        (epoch % cfg.evaluation_period === 0 || lastEpoch)
      ) {
        const v = await validate(model, cfg, log);
        await metrics.write({ kind: "val", step, epoch, overall_acc: v.overall, ...v.headline });
        log(`[train] epoch ${epoch + 1}: validation overall top-1 ${(100 * v.overall).toFixed(2)}%`);
        await writeCurves(run.metrics, run.curves).catch((e) =>
          log(`[train] could not draw curves: ${e.message}`)
        );
        if (bestScore === null || v.overall > bestScore) {
          bestScore = v.overall;
          bestStep = step;
          await saveCheckpoint(run.best, await model.stateDict(), {
            run: JSON.parse(configToJson(cfg)),
            model: modelCfg,
            step,
            score: v.overall,
          });
          log(`[train] new best -> ${run.best}`);
        }
      }
      // The epoch is finished: a resume starts the next epoch at position 0.
      await saveLast({ epoch: epoch + 1, position: 0 });
    }
  } finally {
    removeSignals();
    loader.close();
    await metrics.close();
  }
  if (stoppedBy === "max_steps") await saveLast();
  await writeCurves(run.metrics, run.curves).catch((e) => log(`[train] could not draw curves: ${e.message}`));
  const result: TrainResult = {
    runDir: run.dir,
    steps: step,
    lastLoss,
    bestScore,
    bestPath: bestScore === null ? null : run.best,
    lastPath: run.last,
    stoppedBy,
  };
  model.release();
  return result;
}
