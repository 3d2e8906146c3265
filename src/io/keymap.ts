/**
 * Maps checkpoint key layouts onto CLIBD's canonical parameter names (spec 9.3), so models only ever see
 * canonical keys:
 *
 * - timm ViT (`blocks.0.attn.qkv.weight`, ...) -> `image_encoder.base_image_encoder.blocks.0.attn.qkv.qkv.weight`
 * - HF BertForMaskedLM / BarcodeBERT (`bert.…`, `cls.predictions.…`, optionally `module.` prefixed)
 *   -> `dna_encoder.base_dna_encoder.bert.…` / `dna_encoder.base_dna_encoder.cls.predictions.…`
 * - HF BertModel (`embeddings.…`, `encoder.…`, `pooler.…`, optionally `bert.`/`module.` prefixed)
 *   -> `language_encoder.base_language_encoder.…`
 * - CLIBD `best.pth` (old class names renamed as `update_checkpoint_param_names` does; `module.` stripped).
 *
 * LoRA naming: CLIBD's `_LoRALayer` stores the wrapped base Linear as `query.w.*` with adapters
 * `query.w_a.weight` / `query.w_b.weight` (same for `value`). Canonically the base weight keeps the plain
 * name (`attention.self.query.weight`) and the adapters stay `attention.self.query.w_a.weight` /
 * `.w_b.weight`; {@link toClibdLoraNames} converts back for writing a CLIBD LoRA-mode checkpoint.
 * The ViT's LoRA (`attn.qkv.linear_a_q.weight`, …) already has canonical names.
 * @module
 */
import type { HostTensor, StateDict } from "./host_tensor.ts";

/** Canonical top-level prefixes. */
export const IMAGE_PREFIX = "image_encoder.base_image_encoder.";
/** DNA tower prefix (a BertForMaskedLM). */
export const DNA_PREFIX = "dna_encoder.base_dna_encoder.";
/** Text tower prefix (a BertModel). */
export const TEXT_PREFIX = "language_encoder.base_language_encoder.";

/** Result of a key mapping. */
export interface KeymapResult {
  /** Tensors under canonical names (same tensor objects, no copies). */
  stateDict: StateDict;
  /** Source keys that were dropped on purpose (buffers, replaced heads, classifier). */
  dropped: string[];
}

/** Checkpoint layouts understood by {@link toCanonical}. */
export type SourceLayout = "clibd" | "timm_vit" | "barcodebert" | "hf_bert_text";

/** Removes a leading `module.` (DDP) from every key that has it. */
export function stripModulePrefix(sd: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of sd) out.set(k.startsWith("module.") ? k.slice(7) : k, v);
  return out;
}

function put(out: StateDict, key: string, t: HostTensor, source: string): void {
  if (out.has(key)) throw new Error(`keymap: two source keys map to "${key}" (second: "${source}")`);
  out.set(key, t);
}

/** `query.w.weight` -> `query.weight` (CLIBD `_LoRALayer` base weights); adapters keep their names. */
function unwrapLoraBase(k: string): string {
  return k.replace(/\.(query|value)\.w\.(weight|bias)$/, ".$1.$2");
}

/**
 * Maps a timm VisionTransformer state dict to canonical image keys.
 * @param opts.head "drop" (default: CLIBD replaces the pretrained classifier by a fresh head) or "keep"
 */
export function mapTimmVit(sd: StateDict, opts: { head?: "keep" | "drop" } = {}): KeymapResult {
  const out: StateDict = new Map();
  const dropped: string[] = [];
  for (const [k0, t] of stripModulePrefix(sd)) {
    if ((opts.head ?? "drop") === "drop" && /^head\.(weight|bias)$/.test(k0)) {
      dropped.push(k0);
      continue;
    }
    const k = k0.replace(/^(blocks\.\d+\.attn\.qkv)\.(weight|bias)$/, "$1.qkv.$2");
    put(out, IMAGE_PREFIX + k, t, k0);
  }
  return { stateDict: out, dropped };
}

/**
 * Maps an HF BertForMaskedLM / BarcodeBERT state dict to canonical DNA keys. Drops
 * `bert.embeddings.position_ids`, `classifier.*`, `bert.pooler.*`, `cls.seq_relationship.*`, and (by
 * default) the MLM `cls.predictions.decoder.*`, which CLIBD replaces by a fresh Linear(hidden, output_dim);
 * the transform and `cls.predictions.bias` are kept (spec 1.3). Keys of a bare BertModel (`embeddings.…`)
 * get the `bert.` prefix.
 * @param opts.decoder "drop" (default, pretrained MLM checkpoint) or "keep" (already a CLIBD head)
 */
export function mapBarcodeBert(sd: StateDict, opts: { decoder?: "keep" | "drop" } = {}): KeymapResult {
  const out: StateDict = new Map();
  const dropped: string[] = [];
  for (const [k0, t] of stripModulePrefix(sd)) {
    let k = /^(embeddings|encoder|pooler)\./.test(k0) ? `bert.${k0}` : k0;
    const drop = k === "bert.embeddings.position_ids" || k.startsWith("classifier.") ||
      k.startsWith("bert.pooler.") || k.startsWith("cls.seq_relationship.") ||
      ((opts.decoder ?? "drop") === "drop" && k.startsWith("cls.predictions.decoder."));
    if (drop) {
      dropped.push(k0);
      continue;
    }
    k = unwrapLoraBase(k);
    put(out, DNA_PREFIX + k, t, k0);
  }
  return { stateDict: out, dropped };
}

/**
 * Maps an HF BertModel state dict (optionally `bert.`/`module.` prefixed, or a BertForMaskedLM whose
 * `cls.*` head is dropped) to canonical text keys. `embeddings.position_ids` is dropped.
 */
export function mapHfBertText(sd: StateDict): KeymapResult {
  const out: StateDict = new Map();
  const dropped: string[] = [];
  for (const [k0, t] of stripModulePrefix(sd)) {
    const k = k0.startsWith("bert.") ? k0.slice(5) : k0;
    if (k === "embeddings.position_ids" || k.startsWith("cls.") || k.startsWith("classifier.")) {
      dropped.push(k0);
      continue;
    }
    put(out, TEXT_PREFIX + unwrapLoraBase(k), t, k0);
  }
  return { stateDict: out, dropped };
}

/** Old -> new substrings, applied in this order (CLIBD `update_checkpoint_param_names`). */
const OLD_NAMES: ReadonlyArray<[string, string]> = [
  ["LoRA_barcode_bert", "CLIBDDNAEncoder"],
  ["lora_barcode_bert", "base_dna_encoder"],
  ["LoRA_ViT_timm", "CLIBDImageEncoder"],
  ["lora_vit", "base_image_encoder"],
  ["LoRA_bert", "CLIBDLanguageEncoder"],
  ["lora_bert", "base_language_encoder"],
];

/**
 * Maps a CLIBD `best.pth`/`last.pth` state dict (any age) to canonical keys: strips `module.`, applies the
 * old-name renames, unwraps LoRA-mode base weights (`query.w.weight` -> `query.weight`) and drops
 * `position_ids` buffers.
 */
export function mapClibdCheckpoint(sd: StateDict): KeymapResult {
  const out: StateDict = new Map();
  const dropped: string[] = [];
  for (const [k0, t] of stripModulePrefix(sd)) {
    let k = k0;
    for (const [a, b] of OLD_NAMES) k = k.split(a).join(b);
    if (k.endsWith("embeddings.position_ids")) {
      dropped.push(k0);
      continue;
    }
    put(out, unwrapLoraBase(k), t, k0);
  }
  return { stateDict: out, dropped };
}

/** Converts canonical DNA/text LoRA-mode names back to CLIBD's (`query.weight` -> `query.w.weight`) for
 * every query/value that has a `w_a` adapter. */
export function toClibdLoraNames(sd: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [k, t] of sd) {
    const m = /^(.*\.(?:query|value))\.(weight|bias)$/.exec(k);
    out.set(m && sd.has(`${m[1]}.w_a.weight`) ? `${m[1]}.w.${m[2]}` : k, t);
  }
  return out;
}

/** Guesses the layout of a state dict from its keys, or null when ambiguous (BertModel text vs DNA). */
export function detectLayout(keys: Iterable<string>): SourceLayout | null {
  const ks = [...keys].map((k) => (k.startsWith("module.") ? k.slice(7) : k));
  const any = (re: RegExp) => ks.some((k) => re.test(k));
  if (any(/^(image_encoder|dna_encoder|language_encoder)\./) || ks.includes("logit_scale")) return "clibd";
  if (any(/^(blocks\.\d+\.attn\.|patch_embed\.)/)) return "timm_vit";
  if (any(/^cls\.predictions\./)) return "barcodebert";
  return null;
}

/** Maps `sd` from the given layout to canonical keys (see the per-layout functions for options). */
export function toCanonical(
  sd: StateDict,
  layout: SourceLayout,
  opts: { head?: "keep" | "drop"; decoder?: "keep" | "drop" } = {},
): KeymapResult {
  switch (layout) {
    case "clibd":
      return mapClibdCheckpoint(sd);
    case "timm_vit":
      return mapTimmVit(sd, { head: opts.head });
    case "barcodebert":
      return mapBarcodeBert(sd, { decoder: opts.decoder });
    case "hf_bert_text":
      return mapHfBertText(sd);
  }
}

/** Outcome of {@link checkExpected}. */
export interface ExpectedReport {
  /** Expected keys absent from the state dict. */
  missing: string[];
  /** Keys present with a different shape. */
  mismatched: { name: string; expected: number[]; got: number[] }[];
  /** Keys in the state dict that were not expected. */
  unexpected: string[];
  /** True when all three lists are empty. */
  ok: boolean;
}

/** Compares a state dict with the expected canonical keys and shapes. */
export function checkExpected(sd: StateDict, expected: Map<string, number[]>): ExpectedReport {
  const missing: string[] = [];
  const mismatched: ExpectedReport["mismatched"] = [];
  for (const [name, shape] of expected) {
    const t = sd.get(name);
    if (!t) missing.push(name);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      mismatched.push({ name, expected: [...shape], got: [...t.shape] });
    }
  }
  const unexpected = [...sd.keys()].filter((k) => !expected.has(k));
  return { missing, mismatched, unexpected, ok: !missing.length && !mismatched.length && !unexpected.length };
}

/** Human-readable summary of a report (first `limit` items of each list). */
export function formatReport(r: ExpectedReport, limit = 10): string {
  const lines: string[] = [];
  const list = (title: string, items: string[]) => {
    if (!items.length) return;
    lines.push(`${title} (${items.length}):`);
    for (const s of items.slice(0, limit)) lines.push(`  ${s}`);
    if (items.length > limit) lines.push(`  ... ${items.length - limit} more`);
  };
  list("missing keys", r.missing);
  list("shape mismatches", r.mismatched.map((m) => `${m.name}: expected [${m.expected}], got [${m.got}]`));
  list("unexpected keys", r.unexpected);
  return lines.length ? lines.join("\n") : "state dict matches";
}

/** Throws with {@link formatReport} (prefixed by `what`) unless the state dict matches exactly. */
export function assertExpected(sd: StateDict, expected: Map<string, number[]>, what = "checkpoint"): void {
  const r = checkExpected(sd, expected);
  if (!r.ok) throw new Error(`${what} does not match the model:\n${formatReport(r)}`);
}
