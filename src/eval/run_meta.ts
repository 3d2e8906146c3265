/**
 * The run description CLIBD writes into every `results.csv` row, from a run config
 * (upstream `print_micro_and_macro_acc`: alignment "None" without a checkpoint,
 * else "I" plus ",D" and ",T" for the towers present).
 * @module
 */
import type { RunConfig } from "../config/schema.ts";
import type { CsvMeta } from "./report.ts";

/** CSV metadata for a model built from `cfg`; `aligned` = trained weights were loaded. */
export function csvMetaFor(cfg: RunConfig, aligned: boolean): CsvMeta {
  return {
    learningStrategy: cfg.disable_lora ? "FineTuning" : "LoRA",
    alignment: aligned
      ? ["I", cfg.dna ? "D" : "", cfg.language ? "T" : ""].filter(Boolean).join(",")
      : "None",
    dnaEncoder: cfg.dna ? "BarcodeBERT" : "None",
    imageEncoder: cfg.image ? "ViT" : "None",
    languageEncoder: cfg.language ? "BERT" : "None",
    epochs: cfg.epochs,
    outputDim: cfg.output_dim,
  };
}
