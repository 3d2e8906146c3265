/**
 * The run's metrics log (`metrics.jsonl`: one JSON object per line, appended and written through at once,
 * so a crash loses at most the line being written) and the resolved-config file.
 *
 * Record conventions used by src/train/curves.ts: `kind: "train"` records carry `step`, `epoch`, `loss`
 * (and optional `loss_*` parts), `lr`, `logit_scale`; `kind: "val"` records carry `step`, `epoch` and
 * numeric accuracies (`overall_acc` first). Other kinds (e.g. `event`) are kept but not plotted.
 * @module
 */
import { dirname } from "node:path";
import { writeFileAtomic } from "../util/atomic.ts";
import type { RunConfig } from "../config/schema.ts";
import { type ConfigSources, configToYaml } from "../config/load.ts";

/** One metrics record. Non-finite numbers are written as null (JSON has no NaN / Infinity). */
export interface MetricsRecord {
  kind: string;
  step: number;
  [field: string]: unknown;
}

const enc = new TextEncoder();

function toJsonLine(r: MetricsRecord): string {
  return JSON.stringify(r, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)) + "\n";
}

/** Parses JSONL text; a truncated last line (crash mid-write) is ignored, any other bad line is an error. */
export function parseMetrics(text: string, file = "<metrics>"): MetricsRecord[] {
  const lines = text.split("\n");
  const out: MetricsRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    try {
      const r = JSON.parse(l);
      if (r === null || typeof r !== "object" || typeof r.kind !== "string" || typeof r.step !== "number") {
        throw new Error(`needs string "kind" and numeric "step"`);
      }
      out.push(r);
    } catch (e) {
      const last = lines.slice(i + 1).every((x) => x.trim() === "");
      if (last && !text.endsWith("\n")) break; // partial final line
      throw new Error(`${file}:${i + 1}: bad metrics line (${(e as Error).message})`);
    }
  }
  return out;
}

/** Reads a metrics.jsonl file (empty list if it does not exist). */
export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  try {
    return parseMetrics(await Deno.readTextFile(path), path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Options of {@link MetricsLog.open}. */
export interface MetricsLogOptions {
  /**
   * When resuming from a checkpoint at step N: first drop records with `step > N` (they were logged after
   * the checkpoint and will be produced again). The file is rewritten atomically.
   */
  dropAfterStep?: number;
}

/** Append-only JSONL writer. */
export class MetricsLog {
  private constructor(private readonly file: Deno.FsFile, /** Log path. */ readonly path: string) {}

  /** Opens (creating if needed) `path` for appending. */
  static async open(path: string, opts: MetricsLogOptions = {}): Promise<MetricsLog> {
    await Deno.mkdir(dirname(path), { recursive: true });
    if (opts.dropAfterStep !== undefined) {
      const kept = (await readMetrics(path)).filter((r) => r.step <= opts.dropAfterStep!);
      await writeFileAtomic(path, kept.map(toJsonLine).join(""));
    }
    const f = await Deno.open(path, { append: true, create: true });
    return new MetricsLog(f, path);
  }

  /** Appends one record as one line (one write call; no user-space buffering). */
  async write(record: MetricsRecord): Promise<void> {
    const b = enc.encode(toJsonLine(record));
    let o = 0;
    while (o < b.length) o += await this.file.write(b.subarray(o));
  }

  /** Flushes to disk and closes. */
  async close(): Promise<void> {
    await this.file.sync().catch(() => {});
    this.file.close();
  }
}

/** Writes the resolved config as YAML (atomically), e.g. to the run folder's config.yaml. */
export async function writeResolvedConfig(
  path: string,
  config: RunConfig,
  sources?: ConfigSources,
): Promise<void> {
  await writeFileAtomic(path, configToYaml(config, sources));
}
