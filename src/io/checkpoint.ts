/**
 * One entry point for checkpoint files: reads safetensors or torch.save zip archives (chosen by content,
 * not by extension) and writes safetensors with CLIBD's JSON config in `__metadata__.config`.
 * @module
 */
import { type HostTensor, type StateDict, toFloat32 } from "./host_tensor.ts";
import { readPth } from "./pth.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";

/** A checkpoint loaded from either format. */
export interface LoadedCheckpoint {
  /** File format detected from the first bytes. */
  format: "safetensors" | "pth";
  /** The tensors. */
  stateDict: StateDict;
  /** safetensors `__metadata__` map, or the non-tensor top-level entries of a .pth (as plain values). */
  metadata: Record<string, unknown>;
}

/** Options of {@link loadCheckpoint}. */
export interface LoadOptions {
  /** Convert every floating tensor (f16, bf16, f64) to f32. */
  float32?: boolean;
}

async function firstBytes(path: string, n: number): Promise<Uint8Array> {
  const f = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(n);
    const got = (await f.read(buf)) ?? 0;
    return buf.subarray(0, got);
  } finally {
    f.close();
  }
}

/** Loads a safetensors or torch.save checkpoint. */
export async function loadCheckpoint(path: string, opts: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const head = await firstBytes(path, 4);
  if (head.length >= 2 && head[0] === 0x50 && head[1] === 0x4b) {
    const c = await readPth(path);
    let sd = c.stateDict;
    if (opts.float32) {
      sd = new Map([...sd].map(([k, t]): [string, HostTensor] => [k, isFloat(t) ? toFloat32(t) : t]));
    }
    return { format: "pth", stateDict: sd, metadata: c.extra };
  }
  const { stateDict, metadata } = await readSafetensors(path, { float32: opts.float32 });
  return { format: "safetensors", stateDict, metadata };
}

function isFloat(t: HostTensor): boolean {
  return t.dtype === "f16" || t.dtype === "bf16" || t.dtype === "f64";
}

/** Writes a state dict as safetensors (atomically) with `config` stored as JSON in `__metadata__.config`. */
export async function saveCheckpoint(path: string, stateDict: StateDict, config?: unknown): Promise<void> {
  await writeSafetensors(
    path,
    stateDict,
    config === undefined ? undefined : { config: JSON.stringify(config) },
  );
}

/** Parses `__metadata__.config` of a loaded safetensors checkpoint, or returns undefined when absent. */
export function checkpointConfig(c: LoadedCheckpoint): unknown {
  const s = c.metadata.config;
  if (typeof s !== "string") return undefined;
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new Error(`checkpoint __metadata__.config is not valid JSON: ${(e as Error).message}`);
  }
}
