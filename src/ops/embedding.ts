/**
 * Embedding lookup and its gradient. The backward is a scatter-add with repeated ids (the DNA tower sees
 * the same k-mer and <UNK> many times per batch). The GPU version is deterministic: tokens are sorted
 * by (id, position) with a bitonic sort, then one thread per (id run, channel) sums its run in token
 * order, so results do not depend on thread scheduling as atomic float adds would.
 * @module
 */
import { assertShape, type Backend, type Tensor } from "../tensor.ts";
import type { GpuBackend } from "../gpu/gpu_backend.ts";
import { packParams } from "../gpu/gpu_backend.ts";
import { grid1d } from "../gpu/grid.ts";

function checkIds(op: string, ids: Tensor): number {
  if (ids.dtype !== "i32") throw new Error(`${op}: ids must be i32, got ${ids.dtype}`);
  return ids.size;
}

function cpuId(op: string, id: number, v: number, n: number): number {
  if (!(id >= 0 && id < v)) throw new Error(`${op}: id ${id} at position ${n} is outside [0, ${v})`);
  return id;
}

/** out[n] = table[ids[n]]: ids i32 [N] (any shape, flattened), table [V,C] -> [N,C]. */
export function embedding(be: Backend, ids: Tensor, table: Tensor): Tensor {
  const n = checkIds("embedding", ids);
  if (table.shape.length !== 2) throw new Error(`embedding: table must be [V,C], got [${table.shape}]`);
  const [v, c] = table.shape;
  const out = be.empty([n, c]);
  if (be.kind === "cpu") {
    const id = ids.data, td = table.data, od = out.data;
    for (let r = 0; r < n; r++) {
      const row = cpuId("embedding", id[r], v, r);
      for (let i = 0; i < c; i++) od[r * c + i] = td[row * c + i];
    }
  } else {
    const { groups, row } = grid1d(n * c);
    (be as GpuBackend).dispatch(
      { file: "embedding" },
      packParams({ n, c, v, row }),
      [ids, table, out],
      groups,
    );
  }
  return out;
}

/**
 * dTable[ids[n]] += dOut[n] in place (dTable [V,C], dOut [N,C]); the row `paddingIdx`, when given, gets
 * no gradient (torch.nn.Embedding(padding_idx), HF BERT uses 0).
 */
export function embeddingBackward(
  be: Backend,
  ids: Tensor,
  dOut: Tensor,
  dTable: Tensor,
  paddingIdx?: number,
): void {
  const n = checkIds("embeddingBackward", ids);
  if (dTable.shape.length !== 2) throw new Error(`embeddingBackward: dTable must be [V,C]`);
  const [v, c] = dTable.shape;
  assertShape("embeddingBackward", "dOut", dOut, [n, c]);
  if (n === 0) return;
  if (be.kind === "cpu") {
    const id = ids.data, gd = dOut.data, td = dTable.data;
    for (let r = 0; r < n; r++) {
      const row = cpuId("embeddingBackward", id[r], v, r);
      if (row === paddingIdx) continue;
      for (let i = 0; i < c; i++) td[row * c + i] += gd[r * c + i];
    }
    return;
  }
  // Keys id * N + position must fit a u32, with 0xffffffff left free for the padding of the sort.
  if (v * n >= 0xffffffff) throw new Error(`embeddingBackward: V*N = ${v * n} too large for u32 sort keys`);
  const g = be as GpuBackend;
  let len = 1;
  while (len < n) len *= 2;
  const keys = g.empty([len], "u32");
  const { groups, row } = grid1d(len);
  const sortParams = (k: number, j: number) => packParams({ n, v, len, row, k, j, _p0: 0, _p1: 0 });
  g.dispatch({ file: "embedding_sort", entry: "make_keys" }, sortParams(0, 0), [keys, ids], groups);
  for (let k = 2; k <= len; k *= 2) {
    for (let j = k / 2; j >= 1; j /= 2) {
      g.dispatch({ file: "embedding_sort", entry: "bitonic" }, sortParams(k, j), [keys], groups);
    }
  }
  const s = grid1d(n * c);
  g.dispatch(
    { file: "embedding_scatter" },
    packParams({ n, c, pad: paddingIdx ?? -1, row: s.row }, [], ["pad"]),
    [keys, dOut, dTable],
    s.groups,
  );
  g.release(keys);
}
