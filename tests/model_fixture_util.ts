/**
 * Helpers shared by the model tests: the PyTorch reference fixtures of the tiny
 * CLIBD model (scripts/torch_reference.py) and their inputs as backend tensors.
 */
import type { Backend, Tensor } from "../src/tensor.ts";
import { type HostTensor, type StateDict, toFloat32, toInt32 } from "../src/io/host_tensor.ts";
import { readSafetensors } from "../src/io/safetensors.ts";
import { readPth } from "../src/io/pth.ts";
import type { BertInputs } from "../src/models/bert.ts";
import type { ParamStore } from "../src/models/params.ts";
import { Rng } from "../src/util/rng.ts";

const DIR = new URL("./fixtures/models/", import.meta.url);

let refCache: Promise<StateDict> | null = null;

/** reference.safetensors: inputs, activations, embeddings and gradients (f64) of the tiny model. */
export function reference(): Promise<StateDict> {
  refCache ??= readSafetensors(new URL("reference.safetensors", DIR).pathname).then((r) => r.stateDict);
  return refCache;
}

/** The tiny model's weights from the safetensors or the .pth fixture (canonical keys). */
export async function tinyWeights(kind: "safetensors" | "pth"): Promise<StateDict> {
  if (kind === "safetensors") {
    return (await readSafetensors(new URL("clibd_tiny.safetensors", DIR).pathname)).stateDict;
  }
  return (await readPth(new URL("clibd_tiny.pth", DIR).pathname)).stateDict;
}

/** A fixture tensor's values as numbers. */
export function values(ref: StateDict, key: string): Float64Array {
  const t = ref.get(key);
  if (!t) throw new Error(`fixture has no ${key}`);
  return t.dtype === "f64" ? t.data as Float64Array : Float64Array.from(toFloat32(t).data as Float32Array);
}

/** The host tensor with this key. */
export function host(ref: StateDict, key: string): HostTensor {
  const t = ref.get(key);
  if (!t) throw new Error(`fixture has no ${key}`);
  return t;
}

/** The fixture's batch as backend tensors. */
export function fixtureInputs(
  be: Backend,
  ref: StateDict,
): { images: Tensor; dna: Tensor; text: BertInputs } {
  const img = host(ref, "input.images");
  const ints = (k: string) => {
    const t = toInt32(host(ref, k), k);
    return be.tensor(t.data as Int32Array, t.shape, "i32");
  };
  const mask = toFloat32(host(ref, "input.text_attention_mask"));
  return {
    images: be.tensor(toFloat32(img).data as Float32Array, img.shape),
    dna: ints("input.dna_ids"),
    text: {
      inputIds: ints("input.text_input_ids"),
      tokenTypeIds: ints("input.text_token_type_ids"),
      attentionMask: be.tensor(mask.data as Float32Array, mask.shape),
    },
  };
}

/** Reads a tensor as f64 numbers (exact on the f64 CPU backend). */
export async function readF64(be: Backend, t: Tensor): Promise<Float64Array> {
  if (be.kind === "cpu" && t.data instanceof Float64Array) return t.data.slice();
  return Float64Array.from(await be.read(t));
}

/** Overwrites every parameter with deterministic random values (LoRA B and padding rows nonzero too). */
export function randomizeParams(store: ParamStore, seed: number): void {
  const rng = new Rng(seed);
  for (const p of store.params.values()) {
    const n = p.value.size;
    const isNormWeight = /(LayerNorm|norm\d?)\.weight$/.test(p.name);
    const fanIn = p.shape.length >= 2 ? p.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const std = isNormWeight
      ? 0.1
      : p.name.endsWith("bias")
      ? 0.1
      : p.name.includes("embed")
      ? 0.5
      : 1 / Math.sqrt(fanIn);
    const data = rng.normalArray(n, std);
    if (isNormWeight) { for (let i = 0; i < n; i++) data[i] += 1; }
    if (p.name === "logit_scale") data[0] = Math.log(1 / 0.07);
    const fresh = store.be.keep(store.be.tensor(data, p.value.shape));
    store.be.release(p.value);
    p.value = fresh;
  }
}
