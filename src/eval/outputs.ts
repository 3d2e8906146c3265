/**
 * Writes everything an evaluation produces into a run folder: CLIBD's
 * `acc_dict_{split}.json`, `per_class_acc_{split}.json`, `pred_dict_{split}.json` and
 * `results.csv`, plus a Markdown report (also returned for the terminal) and an SVG
 * of accuracy per taxonomic level for the headline pairs.
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.ts";
import { barChart } from "../report/svg.ts";
import { LEVELS } from "./metrics.ts";
import { type EvalResult, overallTop1 } from "./protocol.ts";
import { type CsvMeta, headlineCells, markdownReport, resultsCsv } from "./report.ts";

/** Paths written by {@link writeEvalOutputs}. */
export interface EvalOutputPaths {
  /** Accuracy dict (JSON). */
  accDict: string;
  /** Per-class accuracy (JSON). */
  perClass: string;
  /** Predictions per query (JSON). */
  predDict: string;
  /** CLIBD-style results CSV. */
  resultsCsv: string;
  /** Markdown report. */
  report: string;
  /** Accuracy plot. */
  plot: string;
}

/** Writes the CLIBD-compatible files and the readable report; returns the Markdown. */
export async function writeEvalOutputs(
  dir: string,
  splitTag: string,
  res: EvalResult,
  meta: CsvMeta & { title: string; kList?: number[] },
): Promise<{ markdown: string; paths: EvalOutputPaths; overall: number }> {
  const kList = meta.kList ?? [1, 3, 5];
  const paths: EvalOutputPaths = {
    accDict: join(dir, `acc_dict_${splitTag}.json`),
    perClass: join(dir, `per_class_acc_${splitTag}.json`),
    predDict: join(dir, `pred_dict_${splitTag}.json`),
    resultsCsv: join(dir, "results.csv"),
    report: join(dir, `report_${splitTag}.md`),
    plot: join(dir, `accuracy_by_level_${splitTag}.svg`),
  };
  await writeFileAtomic(paths.accDict, JSON.stringify(res.accDict, null, 4));
  await writeFileAtomic(paths.perClass, JSON.stringify(res.perClassAcc, null, 4));
  await writeFileAtomic(paths.predDict, JSON.stringify(res.predDict, null, 4));
  await writeFileAtomic(paths.resultsCsv, resultsCsv(res.accDict, kList, meta));
  const overall = overallTop1(res.accDict);
  const markdown = markdownReport(res.accDict, meta.title) +
    `Overall top-1 (CLIBD's model-selection score, mean of all top-1 accuracies): ${
      (100 * overall).toFixed(2)
    }%\n`;
  await writeFileAtomic(paths.report, markdown);
  // Macro top-1 per level, seen and unseen, for each headline pair present.
  const cells = headlineCells(res.accDict).filter((c) => c.metric === "macro");
  const series: string[] = [];
  for (const c of cells) {
    for (const s of ["seen", "unseen"]) if (!series.includes(`${c.pair} ${s}`)) series.push(`${c.pair} ${s}`);
  }
  const groups = LEVELS.map((level) => ({
    label: level,
    values: series.map((name) => {
      const [pair, split] = name.split(" ");
      const c = cells.find((x) => x.pair === pair && x.level === level);
      return c ? 100 * (split === "seen" ? c.seen : c.unseen) : 0;
    }),
  }));
  await writeFileAtomic(
    paths.plot,
    barChart(groups, series, {
      title: `${meta.title}: macro top-1 accuracy`,
      yLabel: "accuracy (%)",
      yMax: 100,
    }),
  );
  return { markdown, paths, overall };
}
