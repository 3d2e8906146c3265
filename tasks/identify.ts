/**
 * `deno task identify`: names specimens from photos and/or DNA barcodes with a key index.
 *
 *   deno task identify --index DIR [--checkpoint FILE] [--config YAML]
 *       [--image a.jpg ...] [--barcode ACGT... ...] [--fasta file.fa ...]
 *       [--k 5] [--against image|dna] [--json] [--cpu]
 *
 * Per query: the k nearest keys (similarity, id, taxonomy) and a per-level prediction with its vote
 * share (majority of the k, ties -> the nearest's label). Below the index's open-set threshold the
 * species is withheld ("possibly unseen species"). Image queries search the keys' image embeddings
 * (`--against dna`: CLIBD's image -> DNA retrieval); barcodes search the DNA embeddings.
 * Bad inputs are reported one by one; the exit code is 0 when every query was answered, else 1.
 * @module
 */
import { parseArgs } from "node:util";
import { openIndex } from "../src/index/open.ts";
import { fileIdentity } from "../src/index/hash.ts";
import { resolveModelSpec } from "../src/index/model_source.ts";
import { assertSameModel, identify } from "../src/index/identify.ts";
import { fastaQueries, type QueryInput } from "../src/index/queries.ts";
import { answersToJson, formatAnswers } from "../src/index/format.ts";
import type { IndexModality } from "../src/index/manifest.ts";
import { loadClibdModel } from "../src/models/load.ts";
import { CpuBackend } from "../src/cpu_backend.ts";
import { GpuBackend } from "../src/gpu/gpu_backend.ts";
import type { Backend } from "../src/tensor.ts";

const USAGE = `usage: deno task identify --index DIR [--checkpoint FILE] [--config YAML]
         [--image a.jpg ...] [--barcode ACGT... ...] [--fasta file.fa ...]
         [--k 5] [--against image|dna] [--json] [--cpu]`;

/** Where the task writes (console by default; tests capture it). */
export interface TaskIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

const consoleIO: TaskIO = { out: (t) => console.log(t), err: (t) => console.error(t) };

/**
 * Runs the task; returns the exit code (0 all answered, 1 otherwise or on a fatal error).
 * @param be backend to use (default: GPU, or CPU with --cpu)
 */
export async function identifyMain(argv: string[], io: TaskIO = consoleIO, be?: Backend): Promise<number> {
  try {
    return await run(argv, io, be);
  } catch (e) {
    io.err(`identify: error: ${(e as Error).message}`);
    if (Deno.env.get("CLIBD_DEBUG")) io.err(String((e as Error).stack));
    return 1;
  }
}

async function run(argv: string[], io: TaskIO, given?: Backend): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        index: { type: "string" },
        checkpoint: { type: "string" },
        config: { type: "string" },
        image: { type: "string", multiple: true },
        barcode: { type: "string", multiple: true },
        fasta: { type: "string", multiple: true },
        k: { type: "string", default: "5" },
        against: { type: "string", default: "image" },
        json: { type: "boolean", default: false },
        cpu: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  const v = a.values;
  if (v.help) {
    io.out(USAGE);
    return 0;
  }
  // `--image a.jpg b.jpg`: extra positionals after --image are more images.
  const images = [...(v.image ?? []), ...a.positionals];
  if (!v.index) throw new Error(`--index is required\n${USAGE}`);
  const k = Number(v.k);
  if (!Number.isInteger(k) || k < 1 || k > 100) throw new Error(`--k: "${v.k}" is not an integer in 1..100`);
  if (v.against !== "image" && v.against !== "dna") {
    throw new Error(`--against must be image or dna, got ${v.against}`);
  }
  const inputs: QueryInput[] = [
    ...images.map((p): QueryInput => ({ name: p, kind: "image", path: p })),
    ...(v.barcode ?? []).map((s, i): QueryInput => ({
      name: `barcode ${i + 1}`,
      kind: "barcode",
      sequence: s,
    })),
  ];
  for (const f of v.fasta ?? []) inputs.push(...await fastaQueries(f));
  if (inputs.length === 0) throw new Error(`give at least one --image, --barcode or --fasta\n${USAGE}`);

  const index = await openIndex(v.index);
  const m = index.manifest;
  const checkpoint = v.checkpoint ?? m.checkpoint.path;
  const ident = await fileIdentity(checkpoint);
  const spec = v.config ? await resolveModelSpec(checkpoint, v.config) : undefined;
  assertSameModel(m, ident, spec?.config);
  const be = given ?? (v.cpu ? new CpuBackend() : await GpuBackend.create());
  const model = await loadClibdModel(be, m.model.config, { checkpoint });
  try {
    model.mergeLora();
    const answers = await identify(model, index, inputs, { k, imagesAgainst: v.against as IndexModality });
    io.out(v.json ? answersToJson(answers) : formatAnswers(answers));
    const failed = answers.filter((x) => !x.ok).length;
    if (failed) io.err(`identify: ${failed} of ${answers.length} queries could not be answered`);
    return failed ? 1 : 0;
  } finally {
    model.release();
  }
}

if (import.meta.main) Deno.exit(await identifyMain(Deno.args));
