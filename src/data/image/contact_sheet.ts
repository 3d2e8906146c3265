/**
 * A grid of synthetic specimens (one row per species, one column per specimen seed) for eyeballing
 * the renderer. `deno run -A src/data/image/contact_sheet.ts [out.png] [cell]` regenerates
 * docs/demo_specimens.png.
 * @module
 */
import { writeFileAtomic } from "../../util/atomic.ts";
import type { Taxonomy } from "../taxonomy.ts";
import { encodePng } from "./encode.ts";
import { renderSpecimen } from "./render.ts";

/** Renders `taxa.length` rows x `perRow` specimens of `cell` pixels into one RGB image. */
export function contactSheet(
  taxa: readonly Taxonomy[],
  perRow: number,
  cell: number,
): { width: number; height: number; data: Uint8Array } {
  const width = perRow * cell, height = taxa.length * cell;
  const data = new Uint8Array(width * height * 3);
  taxa.forEach((t, r) => {
    for (let k = 0; k < perRow; k++) {
      const img = renderSpecimen(t, k, cell);
      for (let y = 0; y < cell; y++) {
        data.set(img.subarray(y * cell * 3, (y + 1) * cell * 3), ((r * cell + y) * width + k * cell) * 3);
      }
    }
  });
  return { width, height, data };
}

/** The demo sheet's species: two congeneric flies, then one species of five other orders. */
export const DEMO_TAXA: Taxonomy[] = [
  { order: "Diptera", family: "Cecidomyiidae", genus: "Asphondylia", species: "Asphondylia solidaginis" },
  { order: "Diptera", family: "Cecidomyiidae", genus: "Asphondylia", species: "Asphondylia monacha" },
  { order: "Lepidoptera", family: "Geometridae", genus: "Eupithecia", species: "Eupithecia miserulata" },
  { order: "Araneae", family: "Linyphiidae", genus: "Erigone", species: "Erigone aletris" },
  { order: "Hymenoptera", family: "Braconidae", genus: "Aleiodes", species: "Aleiodes terminalis" },
  { order: "Coleoptera", family: "Staphylinidae", genus: "Atheta", species: "Atheta fungi" },
  { order: "Hemiptera", family: "Cicadellidae", genus: "Empoasca", species: "Empoasca fabae" },
];

if (import.meta.main) {
  const out = Deno.args[0] ?? "docs/demo_specimens.png";
  const cell = Number(Deno.args[1] ?? 80);
  const sheet = contactSheet(DEMO_TAXA, 4, cell);
  await writeFileAtomic(out, await encodePng(sheet.data, sheet.width, sheet.height, { palette: true }));
  console.log(`wrote ${out} (${sheet.width}x${sheet.height})`);
}
