/**
 * Benchmark section "image": JPEG decode and CLIBD's eval transform (Resize 256 -> CenterCrop 224)
 * on the BIOSCAN photos, single-threaded on the CPU (this is per data-loader worker throughput).
 * @module
 */
import { fileURLToPath } from "node:url";
import { decodeJpeg } from "../data/image/decode.ts";
import { decodeAndTransform } from "../data/image/transforms.ts";
import type { BenchContext, BenchRow } from "./types.ts";

/** Section name for `--only image`. */
export const name = "image";

const EVAL = { mode: "eval", resize: 256, crop: 224 } as const;
const DIRS = [
  fileURLToPath(new URL("../../data/images/bioscan1m/", import.meta.url)),
  // The 2880x2160 originals are only in the project's shared data folder next to the checkout.
  fileURLToPath(new URL("../../../shared/data/images/bioscan1m/", import.meta.url)),
];

function loadPhotos(): { name: string; bytes: Uint8Array }[] {
  const seen = new Map<string, Uint8Array>();
  for (const dir of DIRS) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isFile && e.name.endsWith(".jpg") && !seen.has(e.name)) {
        seen.set(e.name, Deno.readFileSync(dir + e.name));
      }
    }
  }
  return [...seen].map(([name, bytes]) => ({ name, bytes }));
}

async function rate(n: number, f: () => Promise<void>): Promise<number> {
  await f(); // warm-up (JIT, sharp thread pool)
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f();
  return n / ((performance.now() - t0) / 1000);
}

/** Decode and decode+eval-transform throughput, split by photo size (small crops vs 2880x2160 originals). */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const photos = loadPhotos();
  const rows: BenchRow[] = [];
  const groups = [
    // Originals are ~25x more work: fewer runs keep the section short.
    { label: "256px crops", runs: 200, list: photos.filter((p) => p.bytes.length < 100_000) },
    { label: "2880x2160 originals", runs: 20, list: photos.filter((p) => p.bytes.length >= 100_000) },
  ];
  for (const g of groups) {
    if (g.list.length === 0) continue;
    const reps = Math.max(1, Math.round((ctx.quick ? g.runs / 10 : g.runs) / g.list.length));
    let k = 0;
    const next = () => g.list[k++ % g.list.length].bytes;
    const n = reps * g.list.length;
    const dec = await rate(n, async () => void (await decodeJpeg(next())));
    const full = await rate(n, async () => void (await decodeAndTransform(next(), EVAL)));
    const note = `${g.list.length} photos, ${n} runs, 1 thread`;
    rows.push({ section: name, name: `decode ${g.label}`, gpu: null, cpu: dec, unit: "images/s", note });
    rows.push({
      section: name,
      name: `decode+eval 256/224 ${g.label}`,
      gpu: null,
      cpu: full,
      unit: "images/s",
      note,
    });
  }
  return rows;
}
