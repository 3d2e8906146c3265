/**
 * One contrastive training step of CLIBD (spec 3), with the gradient-cache method
 * so that the contrastive batch is set by config and memory only limits the chunk:
 *
 *   1. embed every chunk of the batch with each tower, keeping no activations;
 *   2. compute the loss over the whole batch: for every pair of present modalities
 *      (a, b), CE(s·a bᵀ, I) and CE(s·b aᵀ, I), averaged over all directed terms
 *      (CLIBD's double loop counts each direction twice; the mean is the same);
 *      this gives d(loss)/d(embedding) for the whole batch;
 *   3. re-run each chunk forward with activations and backward with its rows of
 *      those embedding gradients, accumulating parameter gradients.
 *
 * Dropout (BERT towers) is on in both chunk passes, with masks derived from (`dropoutSeed`, global row),
 * so step 1's embeddings are exactly the outputs step 3 differentiates.
 *
 * When one chunk holds the whole batch the embeddings of step 1 are computed with
 * activations and reused, so there is no second forward (the plain CLIBD step).
 * The optimiser update is left to the caller (see `src/train/trainer.ts`).
 * @module
 */
import type { Backend, Tensor } from "../tensor.ts";
import type { ClibdModel } from "../models/clibd.ts";
import { clipLoss } from "../ops/loss.ts";
import { axpy, scale } from "../ops/elementwise.ts";
import { sliceRows, writeRows } from "../ops/rows.ts";
import type { Tower, TowerActivations } from "../models/tower.ts";

/** A batch of model inputs already on the backend (rows = samples). */
export interface StepInputs {
  /** [B,3,H,W] f32 in [0,1]. */
  images?: Tensor;
  /** [B,T] i32 DNA token ids. */
  dna?: Tensor;
  /** [B,20] i32 each; mask as f32. */
  text?: { inputIds: Tensor; tokenTypeIds: Tensor; attentionMask: Tensor };
}

/** Options of {@link contrastiveStep}. */
export interface StepOptions {
  /** Rows per forward/backward chunk (gradient cache); >= batch means one pass. */
  chunkSize: number;
  /** CLIBD's `fix_temperature`: use s = 1/0.07 and leave logit_scale untouched. */
  fixTemperature?: boolean;
  /**
   * Per-step dropout seed for the BERT towers' training forwards (default 0). Masks depend on it and on
   * each sample's row in the batch, so the gradient cache's embedding pass and its re-run forward use
   * the same masks as each other and as a one-pass step.
   */
  dropoutSeed?: number;
}

/** What a step returns (the loss is a [1] tensor, read it when you need it). */
export interface StepResult {
  loss: Tensor;
  /** Directed loss terms averaged (2 per modality pair). */
  pairs: string[];
}

type Modality = "image" | "dna" | "text";
/** Every tower seen through its common interface; inputs are built per modality by towerInputs. */
type AnyTower = Tower<unknown, TowerActivations>;

function towerInputs(
  inp: StepInputs,
): { m: Modality; rows: number; slice: (be: Backend, s: number, n: number) => unknown }[] {
  const out: { m: Modality; rows: number; slice: (be: Backend, s: number, n: number) => unknown }[] = [];
  if (inp.images) {
    out.push({
      m: "image",
      rows: inp.images.shape[0],
      slice: (be, s, n) => sliceRows(be, inp.images!, s, n),
    });
  }
  if (inp.dna) {
    out.push({
      m: "dna",
      rows: inp.dna.shape[0],
      slice: (be, s, n) => sliceRows(be, inp.dna!, s, n),
    });
  }
  if (inp.text) {
    const t = inp.text;
    out.push({
      m: "text",
      rows: t.inputIds.shape[0],
      slice: (be, s, n) => ({
        inputIds: sliceRows(be, t.inputIds, s, n),
        tokenTypeIds: sliceRows(be, t.tokenTypeIds, s, n),
        attentionMask: sliceRows(be, t.attentionMask, s, n),
      }),
    });
  }
  return out;
}

/**
 * Forward + loss + backward for one batch; parameter gradients are accumulated into
 * the model's gradient buffers (call `model.zeroGrad()` before, and the optimiser after).
 */
export function contrastiveStep(model: ClibdModel, inp: StepInputs, opts: StepOptions): StepResult {
  const be = model.be;
  const towers = towerInputs(inp).filter((t) => model[t.m] !== null);
  if (towers.length < 2) {
    throw new Error(
      `contrastive step needs at least two modalities with both a tower and inputs (got ${
        towers.map((t) => t.m)
      })`,
    );
  }
  const B = towers[0].rows;
  for (const t of towers) {
    if (t.rows !== B) throw new Error(`step: ${t.m} has ${t.rows} rows, ${towers[0].m} has ${B}`);
  }
  const chunk = Math.max(1, Math.min(opts.chunkSize, B));
  const onePass = chunk >= B;
  const tower = (m: Modality) => model[m] as unknown as AnyTower;
  const dropoutSeed = opts.dropoutSeed ?? 0;

  return be.tidy(() => {
    // 1. Embeddings of the whole batch per modality.
    const emb = new Map<Modality, Tensor>();
    const acts = new Map<Modality, TowerActivations | null>();
    for (const t of towers) {
      if (onePass) {
        const r = tower(t.m).forward(t.slice(be, 0, B), { train: true, dropoutSeed, rowOffset: 0 });
        emb.set(t.m, r.emb);
        acts.set(t.m, r.act);
        continue;
      }
      const dim = (model.config.image ?? model.config.dna ?? model.config.text)!.outputDim;
      const full = be.empty([B, dim]);
      for (let s = 0; s < B; s += chunk) {
        const n = Math.min(chunk, B - s);
        // Training-mode forward (dropout) that keeps no activations.
        be.tidy(() => {
          const r = tower(t.m).forward(t.slice(be, s, n), {
            train: true,
            record: false,
            dropoutSeed,
            rowOffset: s,
          });
          writeRows(be, r.emb, full, s);
        });
      }
      emb.set(t.m, full);
    }

    // 2. Loss over every modality pair, with gradients w.r.t. the embeddings.
    const pairs: [Modality, Modality][] = [];
    for (let i = 0; i < towers.length; i++) {
      for (let j = i + 1; j < towers.length; j++) pairs.push([towers[i].m, towers[j].m]);
    }
    const logitScale = model.logitScale;
    const grads = new Map<Modality, Tensor>();
    let loss: Tensor | null = null;
    for (const [a, b] of pairs) {
      const r = clipLoss(be, emb.get(a)!, emb.get(b)!, logitScale.value, {
        gradScale: 1 / pairs.length,
        fixedScale: opts.fixTemperature ? 1 / 0.07 : undefined,
      });
      for (const [m, g] of [[a, r.da], [b, r.db]] as const) {
        const acc = grads.get(m);
        if (acc) axpy(be, acc, g, 1);
        else grads.set(m, g);
      }
      if (loss) axpy(be, loss, r.loss, 1 / pairs.length);
      else loss = scale(be, r.loss, 1 / pairs.length);
      if (logitScale.grad && !opts.fixTemperature) axpy(be, logitScale.grad, r.dLogitScale, 1);
    }

    // 3. Backward through each tower, chunk by chunk (or directly in one pass).
    for (const t of towers) {
      const g = grads.get(t.m)!;
      if (onePass) {
        tower(t.m).backward(acts.get(t.m)!, g);
        continue;
      }
      for (let s = 0; s < B; s += chunk) {
        const n = Math.min(chunk, B - s);
        be.tidy(() => {
          const r = tower(t.m).forward(t.slice(be, s, n), { train: true, dropoutSeed, rowOffset: s });
          tower(t.m).backward(r.act!, sliceRows(be, g, s, n));
        });
      }
    }
    return { loss: loss!, pairs: pairs.map(([a, b]) => `${a}-${b}`) };
  });
}
