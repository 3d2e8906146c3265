/**
 * Training curves from a run's metrics.jsonl: loss, learning rate, logit scale and validation accuracy,
 * drawn with src/report/svg.ts and laid out 2 x 2 in one SVG file.
 * @module
 */
import { lineChart, type LineSeries } from "../report/svg.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { type MetricsRecord, readMetrics } from "./log.ts";

const CHART_W = 720, CHART_H = 400;
/** Most accuracy series drawn (overall_acc first, then in order of appearance). */
const MAX_ACC_SERIES = 7;
const META = new Set(["kind", "step", "epoch", "time", "elapsed_s"]);

function series(records: MetricsRecord[], kind: string, field: string): [number, number][] {
  const pts: [number, number][] = [];
  for (const r of records) {
    const v = r[field];
    if (r.kind === kind && typeof v === "number" && Number.isFinite(v)) pts.push([r.step, v]);
  }
  return pts;
}

function fieldsOf(records: MetricsRecord[], kind: string, keep: (name: string) => boolean): string[] {
  const names: string[] = [];
  for (const r of records) {
    if (r.kind !== kind) continue;
    for (const [k, v] of Object.entries(r)) {
      if (!META.has(k) && typeof v === "number" && keep(k) && !names.includes(k)) names.push(k);
    }
  }
  return names;
}

/** Legend label: `image_dna_species_seen` -> `Image→DNA species seen`, `overall_acc` -> `overall top-1`. */
function shortName(field: string): string {
  if (field === "overall_acc") return "overall top-1";
  const m = /^(dna|image)_(dna|image|text)_(\w+)_(seen|unseen)$/.exec(field);
  if (!m) return field;
  const cap = (x: string) => ({ dna: "DNA", image: "Img", text: "Text" } as Record<string, string>)[x];
  return `${cap(m[1])}→${cap(m[2])} ${m[3]} ${m[4]}`;
}

/** The four charts as separate SVG documents: loss, learning rate, logit scale, validation accuracy. */
export function curveCharts(records: MetricsRecord[]): string[] {
  const lossNames = fieldsOf(records, "train", (k) => k === "loss" || k.startsWith("loss_"));
  const loss: LineSeries[] = lossNames.map((n) => ({ name: n, points: series(records, "train", n) }));
  const valLoss = series(records, "val", "loss");
  if (valLoss.length) loss.push({ name: "val loss", points: valLoss });

  const lr: LineSeries[] = [{ name: "lr", points: series(records, "train", "lr") }];
  const scale: LineSeries[] = [{ name: "logit_scale", points: series(records, "train", "logit_scale") }];

  // The selection score first, then the paper's headline pairs at species level, then anything else.
  const all = fieldsOf(records, "val", (k) => k !== "loss");
  const headline = all.filter((n) => /^(dna_dna|image_image|image_dna)_species_(seen|unseen)$/.test(n));
  const accNames = [
    ...all.filter((n) => n === "overall_acc"),
    ...headline,
    ...all.filter((n) => n !== "overall_acc" && !headline.includes(n)),
  ]
    .slice(0, MAX_ACC_SERIES);
  const acc: LineSeries[] = accNames.map((n) => ({ name: shortName(n), points: series(records, "val", n) }));

  return [
    lineChart(loss, { title: "Contrastive loss", xLabel: "step", yLabel: "loss" }),
    lineChart(lr, { title: "Learning rate", xLabel: "step", yLabel: "lr", logY: true }),
    lineChart(scale, { title: "Logit scale (log of 1/temperature)", xLabel: "step", yLabel: "logit_scale" }),
    lineChart(acc, { title: "Validation accuracy", xLabel: "step", yLabel: "top-1 accuracy" }),
  ];
}

/** All four charts in one SVG document (2 x 2 grid). */
export function renderCurves(records: MetricsRecord[]): string {
  const charts = curveCharts(records);
  const W = CHART_W * 2, H = CHART_H * 2;
  const body = charts.map((svg, i) => {
    const x = (i % 2) * CHART_W, y = Math.floor(i / 2) * CHART_H;
    return svg.replace(/^<\?xml[^>]*\?>\s*/, "").replace("<svg ", `<svg x="${x}" y="${y}" `);
  }).join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">\n` +
    body + `</svg>\n`;
}

/** Reads `metricsPath` and writes the curves to `svgPath` (atomically). */
export async function writeCurves(metricsPath: string, svgPath: string): Promise<void> {
  await writeFileAtomic(svgPath, renderCurves(await readMetrics(metricsPath)));
}
