/**
 * `deno task bench [--quick] [--only <section>] [--out <file>]`: runs the benchmark sections
 * listed in src/bench/index.ts, prints a table, and writes every row as JSON (atomically) to
 * runs/bench/bench.json (or --out).
 * @module
 */
import { parseArgs } from "node:util";
import { CpuBackend } from "../src/cpu_backend.ts";
import { GpuBackend } from "../src/gpu/gpu_backend.ts";
import { type BenchRow, SECTIONS } from "../src/bench/index.ts";
import { writeFileAtomic } from "../src/util/atomic.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    out: { type: "string", default: "runs/bench/bench.json" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(
    `usage: deno task bench [--quick] [--only <section>] [--out <file>]\nsections: ${
      SECTIONS.map((s) => s.name).join(", ")
    }`,
  );
  Deno.exit(0);
}

const sections = values.only ? SECTIONS.filter((s) => s.name === values.only) : SECTIONS;
if (sections.length === 0) {
  console.error(`unknown section "${values.only}"; known: ${SECTIONS.map((s) => s.name).join(", ")}`);
  Deno.exit(2);
}

function fmt(v: number | null): string {
  if (v === null) return "-";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
}

function printRows(rows: BenchRow[]): void {
  for (const r of rows) {
    console.log(
      `${r.section.padEnd(10)} ${r.name.padEnd(38)} ${fmt(r.gpu).padStart(9)} ${fmt(r.cpu).padStart(9)} ` +
        `${r.unit.padEnd(8)} ${r.note ?? ""}`,
    );
  }
}

const be = await GpuBackend.create();
const cpu = new CpuBackend();
console.log(`adapter: ${be.name}${be.isSoftware ? " (software)" : ""}${values.quick ? ", --quick" : ""}`);
console.log(
  `${"section".padEnd(10)} ${"name".padEnd(38)} ${"gpu".padStart(9)} ${"cpu".padStart(9)} unit     note`,
);

const all: BenchRow[] = [];
const failed: string[] = [];
for (const s of sections) {
  try {
    const rows = await s.run({ be, cpu, quick: values.quick });
    printRows(rows);
    all.push(...rows);
  } catch (e) {
    // One broken section must not hide the others' numbers; the exit code still reports it.
    console.error(`section ${s.name} failed: ${(e as Error).stack ?? e}`);
    failed.push(s.name);
  }
}

const report = {
  date: new Date().toISOString(),
  adapter: be.name,
  software: be.isSoftware,
  quick: values.quick,
  deno: Deno.version.deno,
  failed,
  rows: all,
};
await writeFileAtomic(values.out, JSON.stringify(report, null, 2) + "\n");
console.log(`wrote ${values.out}`);
if (failed.length) Deno.exit(1);
