/**
 * Small hand-written SVG charts (no dependencies): line charts for training
 * curves and grouped bar charts for accuracy per taxonomic level.
 * @module
 */

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  points: [number, number][];
}

/** One group of bars (e.g. a taxonomic level) with one value per series. */
export interface BarGroup {
  label: string;
  values: number[];
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const W = 720, H = 400, ML = 64, MR = 170, MT = 40, MB = 52;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** "Nice" tick values from at or below `lo` to at or above `hi` (the axis spans first..last tick). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const start = Math.floor(lo / step + 1e-9) * step, end = Math.ceil(hi / step - 1e-9) * step;
  const out: number[] = [];
  for (let i = 0; start + i * step <= end + step * 1e-9; i++) {
    out.push(Number((start + i * step).toPrecision(12)));
  }
  return out;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(4)));
}

function frame(title: string, xLabel: string, yLabel: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="sans-serif" font-size="12">\n<rect width="${W}" height="${H}" fill="white"/>\n` +
    `<text x="${W / 2 - MR / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>\n` +
    `<text x="${ML + (W - ML - MR) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>\n` +
    `<text transform="translate(16 ${MT + (H - MT - MB) / 2}) rotate(-90)" text-anchor="middle">${
      esc(yLabel)
    }</text>\n` +
    body + `</svg>\n`;
}

function legend(names: string[]): string {
  return names.map((n, i) =>
    `<rect x="${W - MR + 16}" y="${MT + i * 20}" width="12" height="12" fill="${
      PALETTE[i % PALETTE.length]
    }"/>` +
    `<text x="${W - MR + 34}" y="${MT + i * 20 + 10}" font-size="11">${esc(n)}</text>\n`
  ).join("");
}

/** A line chart; series with no points are listed in the legend only. */
export function lineChart(
  series: LineSeries[],
  opts: { title: string; xLabel: string; yLabel: string; logY?: boolean },
): string {
  const ty = (v: number) => (opts.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => ty(p[1]));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const xt = niceTicks(x0, x1 > x0 ? x1 : x0 + 1), yt = niceTicks(y0, y1 > y0 ? y1 : y0 + 1);
  const [ax0, ax1, ay0, ay1] = [xt[0], xt[xt.length - 1], yt[0], yt[yt.length - 1]];
  const px = (x: number) => ML + ((x - ax0) / (ax1 - ax0 || 1)) * (W - ML - MR);
  const py = (y: number) => H - MB - ((y - ay0) / (ay1 - ay0 || 1)) * (H - MT - MB);
  let body = `<g stroke="#ddd">` +
    yt.map((v) => `<line x1="${ML}" x2="${W - MR}" y1="${py(v)}" y2="${py(v)}"/>`).join("") +
    `</g>\n<g stroke="#333"><line x1="${ML}" x2="${W - MR}" y1="${H - MB}" y2="${H - MB}"/>` +
    `<line x1="${ML}" x2="${ML}" y1="${MT}" y2="${H - MB}"/></g>\n`;
  body +=
    xt.map((v) => `<text x="${px(v)}" y="${H - MB + 16}" text-anchor="middle">${fmt(v)}</text>`).join("") +
    "\n";
  body +=
    yt.map((v) =>
      `<text x="${ML - 6}" y="${py(v) + 4}" text-anchor="end">${fmt(opts.logY ? 10 ** v : v)}</text>`
    )
      .join("") + "\n";
  // Unique per chart title, so several charts can share one document (curves.svg) deterministically.
  const clip = `plot-${opts.title.replace(/[^A-Za-z0-9]+/g, "-")}`;
  body += `<clipPath id="${clip}"><rect x="${ML}" y="${MT}" width="${W - ML - MR}" height="${
    H - MT - MB
  }"/></clipPath>\n`;
  series.forEach((s, i) => {
    const d = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y], j) => `${j ? "L" : "M"}${px(x).toFixed(1)},${py(ty(y)).toFixed(1)}`).join("");
    if (d) {
      body +=
        `<path d="${d}" fill="none" stroke="${
          PALETTE[i % PALETTE.length]
        }" stroke-width="1.6" clip-path="url(#${clip})">` +
        `<title>${esc(s.name)}</title></path>\n`;
    }
  });
  return frame(opts.title, opts.xLabel, opts.yLabel, body + legend(series.map((s) => s.name)));
}

/** A grouped bar chart (values usually in [0, 1] or %); one colour per series name. */
export function barChart(
  groups: BarGroup[],
  seriesNames: string[],
  opts: { title: string; yLabel: string; yMax?: number; xLabel?: string },
): string {
  const yMax = opts.yMax ?? Math.max(1e-9, ...groups.flatMap((g) => g.values));
  const yt = niceTicks(0, yMax);
  const top = yt[yt.length - 1];
  const py = (y: number) => H - MB - (y / top) * (H - MT - MB);
  const gw = (W - ML - MR) / Math.max(groups.length, 1);
  const bw = (gw * 0.8) / Math.max(seriesNames.length, 1);
  let body = `<g stroke="#ddd">` +
    yt.map((v) => `<line x1="${ML}" x2="${W - MR}" y1="${py(v)}" y2="${py(v)}"/>`).join("") +
    `</g>\n` +
    yt.map((v) => `<text x="${ML - 6}" y="${py(v) + 4}" text-anchor="end">${fmt(v)}</text>`).join("") + "\n";
  groups.forEach((g, gi) => {
    const gx = ML + gi * gw + gw * 0.1;
    g.values.forEach((v, si) => {
      const y = py(Math.max(0, v));
      body +=
        `<rect x="${(gx + si * bw).toFixed(1)}" y="${y.toFixed(1)}" width="${(bw * 0.92).toFixed(1)}" ` +
        `height="${(H - MB - y).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}">` +
        `<title>${esc(`${g.label} / ${seriesNames[si]}: ${fmt(v)}`)}</title></rect>\n`;
    });
    body += `<text x="${(ML + gi * gw + gw / 2).toFixed(1)}" y="${H - MB + 16}" text-anchor="middle">${
      esc(g.label)
    }</text>\n`;
  });
  body += `<line x1="${ML}" x2="${W - MR}" y1="${H - MB}" y2="${H - MB}" stroke="#333"/>\n`;
  return frame(opts.title, opts.xLabel ?? "", opts.yLabel, body + legend(seriesNames));
}
