/**
 * clibd-deno: CLIBD (contrastive learning that puts insect images, DNA barcodes and
 * taxonomic labels in one embedding space, ICLR 2025) on Deno, with hand-written WGSL
 * compute shaders run through WebGPU. No Python, no CUDA: any GPU WebGPU reaches, or
 * Mesa's software adapter on a server.
 *
 * Embed a barcode and a taxonomy string with the bundled tiny demo architecture (random
 * weights here; pass `checkpoint` for a trained model) on the CPU reference backend:
 *
 * ```ts
 * import { embedBarcodes, embedTaxonomy, loadModel } from "./mod.ts";
 *
 * const m = await loadModel({ backend: "cpu" });
 * const dna = await embedBarcodes(m, ["AACTTTATATTTTATTTTTGGGGCCTGATCTGGAATAGTAGG"]);
 * const txt = await embedTaxonomy(m, [{ order: "Diptera", family: "Chironomidae" }]);
 * console.log(dna.rows, dna.dim, txt.dim); // 1 32 32
 * let norm = 0;
 * for (const x of dna.data) norm += x * x;
 * if (Math.abs(norm - 1) > 1e-5) throw new Error("embeddings are L2-normalised");
 * m.release();
 * ```
 *
 * The pieces: {@link loadModel} / {@link embedImages} / {@link embedBarcodes} /
 * {@link embedTaxonomy} for inference; {@link buildIndex}, {@link openIndex} and
 * {@link identify} for identifying specimens against a labelled key set;
 * {@link evaluateRetrieval} and {@link readExtractedFeatures} for CLIBD's evaluation
 * protocol; {@link train} with {@link resolveConfig} for training.
 * @module
 */

// Runtime and tensors
export { type Backend, type CpuArray, type DType, type HostArray, Tensor } from "./src/tensor.ts";
export { CpuBackend, type CpuBackendOptions } from "./src/cpu_backend.ts";
export { GpuBackend, GpuError, type KernelSpec } from "./src/gpu/gpu_backend.ts";
export { type GpuInfo, NoGpuError } from "./src/gpu/device.ts";

// Loading models and embedding raw inputs
export {
  embedBarcodes,
  type Embeddings,
  embedImages,
  embedTaxonomy,
  type LoadedModel,
  loadModel,
  type LoadModelOptions,
} from "./src/api.ts";
export { ClibdModel, createClibdModel, type CreateOptions, type TrainModes } from "./src/models/clibd.ts";
export {
  type ClibdConfig,
  clibdFull,
  clibdTiny,
  type DnaConfig,
  type TextConfig,
  type VitConfig,
} from "./src/models/config.ts";
export { loadClibdModel, type ModelSources } from "./src/models/load.ts";
export {
  loadCheckpoint,
  type LoadedCheckpoint,
  type LoadOptions as CheckpointLoadOptions,
  saveCheckpoint,
} from "./src/io/checkpoint.ts";

// Model internals reachable from ClibdModel (towers, parameters, state dicts)
export type {
  LoadOptions as StateDictLoadOptions,
  LoadReport,
  Param,
  ParamStore,
  TrainMode,
} from "./src/models/params.ts";
export type { ParamGroup } from "./src/models/params.ts";
export type { ImageActivations, ImageBackwardOptions, ImageEncoder } from "./src/models/image_encoder.ts";
export type { DnaActivations, DnaEncoder } from "./src/models/dna_encoder.ts";
export type { TextActivations, TextEncoder as TextTowerEncoder } from "./src/models/text_encoder.ts";
export type {
  ForwardOptions,
  LnSaved,
  NormSaved,
  Tower,
  TowerActivations,
  TowerForward,
} from "./src/models/tower.ts";
export type { BlockAct, Vit, VitActivations } from "./src/models/vit.ts";
export type { Bert, BertActivations, BertDropout, BertInputs, LayerAct } from "./src/models/bert.ts";
export type { ActivationRecord } from "./src/models/record.ts";
export type { BertConfig } from "./src/models/config.ts";
export type { HostData, HostDataMap, HostDType, HostTensor, StateDict } from "./src/io/host_tensor.ts";

// Configuration
export { type ConfigSources, resolveConfig, type ResolvedConfig } from "./src/config/load.ts";
export type {
  BertTowerConfig,
  DataConfig,
  DnaTowerConfig,
  ImageTowerConfig,
  LanguageTowerConfig,
  LoraConfig,
  LrConfig,
  LrSchedulerName,
  OptimizerConfig,
  RunConfig,
  ShuffleMode,
  TowerCommon,
} from "./src/config/schema.ts";

// Identification against a key index
export { buildIndex, type BuildIndexOptions, type BuildResult } from "./src/index/build.ts";
export { type KeyIndex, type Neighbour, openIndex } from "./src/index/open.ts";
export { identify, type IdentifyOptions, type QueryAnswer } from "./src/index/identify.ts";
export type {
  IndexDtype,
  IndexManifest,
  IndexModality,
  PairCalibration,
  Preprocess,
} from "./src/index/manifest.ts";
export type { FileIdentity } from "./src/index/hash.ts";
export type { ModelSpec } from "./src/index/model_source.ts";
export type { CalibrateOptions } from "./src/index/threshold.ts";
export type { QueryInput } from "./src/index/queries.ts";
export type { LevelVote } from "./src/index/votes.ts";

// Evaluation
export {
  type AccDict,
  type EvalProgress,
  type EvalResult,
  evaluateRetrieval,
  type FeatureSplit,
  type FeatureType,
  KEY_FEATURES,
  overallTop1,
  type PerClassDict,
  type PredDict,
} from "./src/eval/protocol.ts";
export type { FeatureMatrix, SearchFn } from "./src/eval/search.ts";
export type { TopKResult } from "./src/ops/topk.ts";
export {
  type EvalSplits,
  readExtractedFeatures,
  writeExtractedFeatures,
} from "./src/eval/embeddings_file.ts";
export { type EvalOutputPaths, writeEvalOutputs } from "./src/eval/outputs.ts";
export type { CsvMeta } from "./src/eval/report.ts";
export {
  type AccByK,
  harmonicMean,
  type Level,
  LEVELS,
  type PerClassByK,
  type Taxonomy,
} from "./src/eval/metrics.ts";

// Training
export { train, type TrainOptions, type TrainResult } from "./src/train/trainer.ts";
