/**
 * Validation during training, as CLIBD's `eval_phase`: embed the validation query
 * splits (seen, unseen) and the key split, run the retrieval protocol, and score it
 * with CLIBD's model-selection number (mean of all top-1 accuracies).
 * @module
 */
import type { ClibdModel } from "../models/clibd.ts";
import type { RunConfig } from "../config/schema.ts";
import { extractSplit } from "../eval/extract.ts";
import {
  addDerivedFeatures,
  type EvalResult,
  evaluateRetrieval,
  type FeatureSplit,
  overallTop1,
} from "../eval/protocol.ts";
import { makeSearch } from "../eval/search.ts";
import { headlineCells } from "../eval/report.ts";
import { Progress } from "./progress.ts";
import { UserError } from "../util/errors.ts";

/** Validation outcome. */
export interface ValidationResult {
  overall: number;
  /** Headline macro top-1 accuracies, e.g. `dna_dna_species_seen`. */
  headline: Record<string, number>;
  result: EvalResult;
}

/**
 * Embeds the query and key splits named in `which` and evaluates retrieval;
 * `onEmbedded` receives the embeddings (e.g. to save them in CLIBD's layout).
 */
export async function evaluateSplits(
  model: ClibdModel,
  cfg: RunConfig,
  which: "val" | "test",
  log: (m: string) => void,
  onEmbedded?: (splits: { seen: FeatureSplit; unseen: FeatureSplit; keys: FeatureSplit }) => Promise<void>,
): Promise<EvalResult> {
  const queries = which === "val" ? cfg.data.val_query_splits : cfg.data.test_query_splits;
  if (queries.length !== 2) {
    throw new UserError(
      `data.${which}_query_splits must name the seen and the unseen split, got [${queries}]`,
    );
  }
  const embed = async (split: string, isKey: boolean) => {
    const bar = new Progress({ label: `embed ${split}`, unit: "rec" });
    const s = await extractSplit(model, {
      file: cfg.data.path,
      split,
      batchSize: Math.min(256, Math.max(16, cfg.batch_size)),
      resize: cfg.data.image_resize,
      crop: cfg.data.image_crop,
      dna: { k: cfg.data.dna_k, maxLen: cfg.data.dna_max_len },
      workers: cfg.data.workers ?? undefined,
      onProgress: (done, total) => {
        bar.setTotal(total);
        bar.update(done);
      },
    });
    bar.finish();
    return addDerivedFeatures(s, isKey);
  };
  const keys = await embed(cfg.data.key_split, true);
  const seen = await embed(queries[0], false);
  const unseen = await embed(queries[1], false);
  log(
    `[eval] ${seen.labels.length} seen / ${unseen.labels.length} unseen queries, ${keys.labels.length} keys`,
  );
  await onEmbedded?.({ seen, unseen, keys });
  return await evaluateRetrieval(seen, unseen, keys, { search: makeSearch(model.be) });
}

/** Validation as CLIBD runs it after an epoch. */
export async function validate(
  model: ClibdModel,
  cfg: RunConfig,
  log: (m: string) => void,
): Promise<ValidationResult> {
  const result = await evaluateSplits(model, cfg, "val", log);
  const headline: Record<string, number> = {};
  for (const c of headlineCells(result.accDict).filter((c) => c.metric === "macro")) {
    const key = `${c.pair.replace("→", "_").toLowerCase()}_${c.level}`;
    headline[`${key}_seen`] = c.seen;
    headline[`${key}_unseen`] = c.unseen;
  }
  return { overall: overallTop1(result.accDict), headline, result };
}
