/**
 * Evaluation outputs people read: CLIBD's `results.csv` (same columns), a Markdown
 * table in the layout of the paper (per level: DNA->DNA, image->image, image->DNA,
 * seen / unseen / harmonic mean) and the rows for a per-level accuracy plot.
 * @module
 */
import { harmonicMean, type Level, LEVELS } from "./metrics.ts";
import type { AccDict } from "./protocol.ts";

/** Short names CLIBD's CSV uses for feature types (suffix = alignment, e.g. "(I,D,T)"). */
export function csvFeatureName(type: string, alignmentSuffix: string): string {
  const names: Record<string, string> = {
    encoded_image_feature: "Image",
    encoded_dna_feature: "DNA",
    encoded_language_feature: "Text",
    averaged_feature: "Ave" + alignmentSuffix,
    concatenated_feature: "Concat" + alignmentSuffix,
    all_key_features: "All" + alignmentSuffix,
  };
  return names[type] ?? type;
}

/** Run description written into every CSV row (CLIBD's first seven columns). */
export interface CsvMeta {
  /** How the model was trained: full fine-tuning or LoRA. */
  learningStrategy: "FineTuning" | "LoRA";
  /** "None" for the no-alignment baseline, else e.g. "I,D,T". */
  alignment: string;
  /** DNA encoder name. */
  dnaEncoder: string;
  /** Image encoder name. */
  imageEncoder: string;
  /** Language encoder name. */
  languageEncoder: string;
  /** Training epochs. */
  epochs: number;
  /** Embedding width. */
  outputDim: number;
}

/** Python's repr of a float as csv.writer prints it (1.0, 0.5, 0.1234). */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** CLIBD's `results.csv` (upstream `print_micro_and_macro_acc`), values rounded to 4 places. */
export function resultsCsv(acc: AccDict, kList: readonly number[], meta: CsvMeta): string {
  const header = [
    "learning_strategy",
    "Alignment",
    "DNA_encoder",
    "Image_encoder",
    "Language_encoder",
    "Epoch",
    "Latent_space_dim",
    "Query",
    "Key",
    "Metric",
    "Seen_Order",
    "Seen_Family",
    "Seen_Genus",
    "Seen_Species",
    "Unseen_Order",
    "Unseen_Family",
    "Unseen_Genus",
    "Unseen_Species",
  ];
  const suffix = `(${meta.alignment === "None" ? "None" : meta.alignment})`;
  const rows: string[][] = [header];
  for (const [q, byKey] of Object.entries(acc)) {
    for (const [k, bySplit] of Object.entries(byKey)) {
      if (Object.keys(bySplit).length === 0) continue;
      for (const type of ["micro_acc", "macro_acc"]) {
        for (const topk of kList) {
          const row = [
            meta.learningStrategy,
            meta.alignment,
            meta.dnaEncoder,
            meta.imageEncoder,
            meta.languageEncoder,
            String(meta.epochs),
            String(meta.outputDim),
            csvFeatureName(q, suffix),
            csvFeatureName(k, suffix),
            type.replace("m", "M").replace("_", `_Top-${topk}_`),
          ];
          for (const split of ["seen", "unseen"]) {
            for (const level of LEVELS) {
              row.push(pyFloat(Math.round(bySplit[split][type][String(topk)][level] * 1e4) / 1e4));
            }
          }
          rows.push(row);
        }
      }
    }
  }
  return rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The headline query->key pairs of the paper. */
export const HEADLINE_PAIRS: { label: string; query: string; key: string }[] = [
  { label: "DNA→DNA", query: "encoded_dna_feature", key: "encoded_dna_feature" },
  { label: "Image→Image", query: "encoded_image_feature", key: "encoded_image_feature" },
  { label: "Image→DNA", query: "encoded_image_feature", key: "encoded_dna_feature" },
  { label: "Image→Text", query: "encoded_image_feature", key: "encoded_language_feature" },
];

/** One cell of the paper-style table. */
export interface HeadlineCell {
  pair: string;
  level: Level;
  metric: "micro" | "macro";
  seen: number;
  unseen: number;
  harmonic: number;
}

/** Top-1 (or top-k) seen / unseen / harmonic-mean accuracy for the headline pairs present. */
export function headlineCells(acc: AccDict, k = 1): HeadlineCell[] {
  const out: HeadlineCell[] = [];
  for (const metric of ["micro", "macro"] as const) {
    for (const level of LEVELS) {
      for (const p of HEADLINE_PAIRS) {
        const e = acc[p.query]?.[p.key];
        if (!e || !e.seen) continue;
        const seen = e.seen[`${metric}_acc`][String(k)][level];
        const unseen = e.unseen[`${metric}_acc`][String(k)][level];
        out.push({ pair: p.label, level, metric, seen, unseen, harmonic: harmonicMean(seen, unseen) });
      }
    }
  }
  return out;
}

/** Markdown table like the paper's: rows = level, column groups = pairs (seen / unseen / H.M., %). */
export function markdownReport(acc: AccDict, title: string, k = 1): string {
  const cells = headlineCells(acc, k);
  const pairs = HEADLINE_PAIRS.filter((p) => cells.some((c) => c.pair === p.label)).map((p) => p.label);
  const pct = (x: number) => (100 * x).toFixed(1);
  let md = `## ${title}\n\n`;
  for (const metric of ["micro", "macro"] as const) {
    md += `### ${
      metric === "micro" ? "Micro" : "Macro"
    } top-${k} accuracy (%): seen / unseen / harmonic mean\n\n`;
    md += `| Level | ${pairs.join(" | ")} |\n|---|${pairs.map(() => "---").join("|")}|\n`;
    for (const level of LEVELS) {
      const row = pairs.map((p) => {
        const c = cells.find((x) => x.pair === p && x.level === level && x.metric === metric)!;
        return `${pct(c.seen)} / ${pct(c.unseen)} / ${pct(c.harmonic)}`;
      });
      md += `| ${level[0].toUpperCase() + level.slice(1)} | ${row.join(" | ")} |\n`;
    }
    md += "\n";
  }
  return md;
}
