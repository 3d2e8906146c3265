/**
 * Printing identification answers: a plain-text table per query, or JSON.
 * @module
 */
import type { QueryAnswer } from "./identify.ts";

function pad(s: string, w: number): string {
  return s.length >= w ? s : s + " ".repeat(w - s.length);
}

/** Renders answers as text tables (one block per query). */
export function formatAnswers(answers: readonly QueryAnswer[]): string {
  const out: string[] = [];
  for (const a of answers) {
    if (!a.ok) {
      out.push(`== ${a.name} (${a.kind}): FAILED: ${a.error}`);
      for (const w of a.warnings) out.push(`   warning: ${w}`);
      out.push("");
      continue;
    }
    const q = a.kind === "image" ? "image" : "dna";
    out.push(`== ${a.name} (${q} -> ${a.against} keys)`);
    for (const w of a.warnings) out.push(`   warning: ${w}`);
    const rows = [["#", "similarity", "id", "order", "family", "genus", "species"]];
    for (const n of a.neighbours) {
      const t = n.taxonomy;
      rows.push([String(n.rank), n.similarity.toFixed(4), n.id, t.order, t.family, t.genus, t.species]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) out.push("   " + r.map((v, c) => pad(v, widths[c])).join("  ").trimEnd());
    const k = a.neighbours.length;
    const pred = a.prediction.map((p) =>
      p.label === null ? `${p.level}: withheld` : `${p.level}: ${p.label} (${p.votes}/${k})`
    );
    out.push(`   prediction: ${pred.join("; ")}`);
    const thr = a.threshold === null ? "no threshold calibrated" : `threshold ${a.threshold.toFixed(4)}`;
    out.push(
      a.possiblyUnseen
        ? `   POSSIBLY UNSEEN SPECIES: best similarity ${a.best.toFixed(4)} < ${thr}; species withheld`
        : `   best similarity ${a.best.toFixed(4)} (${thr})`,
    );
    out.push("");
  }
  return out.join("\n");
}

/** Renders answers as pretty JSON. */
export function answersToJson(answers: readonly QueryAnswer[]): string {
  return JSON.stringify(answers, null, 2) + "\n";
}
