/**
 * Benchmark section "model": inference forward time of the three full-size CLIBD towers with
 * random weights (ViT-B/16 at 224x224, BarcodeBERT 5-mer with 133 tokens, BERT-small with 20
 * tokens) on the GPU backend, as milliseconds per sample and embedding throughput (samples/s),
 * plus one DNA sample on the CPU reference when its predicted time is under 20 s.
 * @module
 */
import {
  barcodeBert5mer,
  bertSmall,
  type ClibdConfig,
  LOGIT_SCALE_INIT,
  vitBase16,
} from "../models/config.ts";
import { type ClibdModel, createClibdModel } from "../models/clibd.ts";
import { matmul } from "../ops/matmul.ts";
import type { Backend, Tensor } from "../tensor.ts";
import { Rng } from "../util/rng.ts";
import type { BenchContext, BenchRow } from "./types.ts";
import { timeCpu, timeGpu } from "./timing.ts";

/** Section name for `--only model`. */
export const name = "model";

/** CPU reference runs are skipped when predicted to take longer than this. */
const CPU_LIMIT_MS = 20_000;

type TowerName = "image" | "dna" | "text";

/** Batch sizes per tower: quick (smoke), software adapter, hardware adapter. */
const BATCH: Record<TowerName, { quick: number; software: number; hardware: number }> = {
  image: { quick: 2, software: 4, hardware: 64 },
  dna: { quick: 2, software: 4, hardware: 64 },
  text: { quick: 8, software: 32, hardware: 512 },
};

const LABEL: Record<TowerName, string> = {
  image: "ViT-B/16 224x224",
  dna: "BarcodeBERT 133 tok",
  text: "BERT-small 20 tok",
};

function towerConfig(t: TowerName): ClibdConfig {
  const c: ClibdConfig = { logitScaleInit: LOGIT_SCALE_INIT };
  if (t === "image") c.image = vitBase16();
  if (t === "dna") c.dna = barcodeBert5mer();
  if (t === "text") c.text = bertSmall();
  return c;
}

/** Random inputs of `B` samples for one tower, uploaded to `be`. */
function inputs(be: Backend, t: TowerName, B: number, rng: Rng): Tensor[] {
  if (t === "image") return [be.tensor(rng.uniformArray(B * 3 * 224 * 224, 0, 1), [B, 3, 224, 224])];
  const T = t === "dna" ? 133 : 20, V = t === "dna" ? 1027 : 30522;
  const ids = Int32Array.from(
    { length: B * T },
    (_, i) => (i % T === 0 ? (t === "dna" ? 0 : 101) : rng.int(V)),
  );
  const idT = be.tensor(ids, [B, T], "i32");
  if (t === "dna") return [idT];
  return [
    idT,
    be.tensor(new Int32Array(B * T), [B, T], "i32"),
    be.tensor(new Float32Array(B * T).fill(1), [B, T]),
  ];
}

/** One inference embedding of the batch; the caller releases the result. */
function embed(m: ClibdModel, t: TowerName, x: Tensor[]): Tensor {
  if (t === "image") return m.embedImages(x[0]);
  if (t === "dna") return m.embedDna(x[0]);
  return m.embedText({ inputIds: x[0], tokenTypeIds: x[1], attentionMask: x[2] });
}

/** Approximate forward FLOPs of one DNA sample (encoder + MLM transform + decoder), for the CPU prediction. */
function dnaFlops(): number {
  const c = barcodeBert5mer(), T = c.seqLen, H = c.bert.hidden, I = c.bert.intermediate;
  const perLayer = 2 * T * H * (4 * H + 2 * I) + 4 * T * T * H;
  return c.bert.layers * perLayer + 2 * T * H * (H + c.outputDim);
}

/** Predicted CPU milliseconds of `flops` from one timed matmul of the DNA FFN shape. */
function predictCpuMs(cpu: Backend, flops: number, rng: Rng): number {
  const [M, K, N] = [133, 768, 3072];
  const a = cpu.tensor(rng.uniformArray(M * K), [M, K]), w = cpu.tensor(rng.uniformArray(N * K), [N, K]);
  const ms = timeCpu(() => cpu.release(matmul(cpu, a, w, { transB: true })));
  cpu.release(a);
  cpu.release(w);
  return flops / (2 * M * K * N / ms);
}

/** Runs the section. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { be, cpu, quick } = ctx;
  const rng = new Rng(7);
  const rows: BenchRow[] = [];
  for (const t of ["image", "dna", "text"] as const) {
    const B = quick ? BATCH[t].quick : be.isSoftware ? BATCH[t].software : BATCH[t].hardware;
    const model = createClibdModel(be, towerConfig(t), { seed: 1 });
    const x = inputs(be, t, B, rng);
    try {
      const g = await timeGpu(be, () => be.release(embed(model, t, x)), {
        reps: quick ? 1 : undefined,
        budgetMs: 3000,
        maxReps: 10,
      });
      const note = `batch ${B}, ${g.reps} reps, random weights`;
      rows.push({
        section: name,
        name: `${LABEL[t]} forward`,
        gpu: g.ms / B,
        cpu: null,
        unit: "ms/sample",
        note,
      });
      rows.push({
        section: name,
        name: `${LABEL[t]} embed`,
        gpu: (1000 * B) / g.ms,
        cpu: null,
        unit: "samples/s",
        note,
      });
    } finally {
      for (const v of x) be.release(v);
      model.release();
    }
  }
  // One DNA sample on the f32 CPU reference, when affordable.
  const dnaRows = rows.filter((r) => r.name.startsWith(LABEL.dna));
  const predicted = predictCpuMs(cpu, dnaFlops(), rng);
  if (predicted > CPU_LIMIT_MS) {
    for (const r of dnaRows) r.note += `; CPU skipped (predicted ${(predicted / 1000).toFixed(0)} s/sample)`;
  } else {
    const model = createClibdModel(cpu, towerConfig("dna"), { seed: 1 });
    const x = inputs(cpu, "dna", 1, rng);
    const ms = timeCpu(() => cpu.release(embed(model, "dna", x)));
    cpu.release(x[0]);
    model.release();
    dnaRows[0].cpu = ms;
    dnaRows[1].cpu = 1000 / ms;
    for (const r of dnaRows) r.note += "; CPU: batch 1, 1 rep";
  }
  return rows;
}
