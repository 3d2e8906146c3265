import { embedding, embeddingBackward } from "../src/ops/embedding.ts";
import { Rng } from "../src/util/rng.ts";
import { assertClose, cpu, cpu64, finiteDiff, gpu } from "./helpers.ts";

// Token counts around powers of two (the sort pads to one), widths not a multiple of 4, and ids drawn
// from a small vocabulary so that most ids repeat, some many times.
for (const [n, v, c] of [[1, 3, 1], [7, 4, 5], [64, 9, 3], [133, 67, 32], [300, 5, 7]]) {
  Deno.test(`embedding gather + scatter-add backward GPU matches CPU (N=${n}, V=${v}, C=${c})`, async () => {
    const be = await gpu();
    const rng = new Rng(n * 13 + v);
    const ids = Int32Array.from({ length: n }, () => rng.int(v));
    ids[0] = 0; // the padding row is used at least once
    const table = rng.uniformArray(v * c, -1, 1), dOut = rng.uniformArray(n * c, -1, 1);
    const dTable0 = rng.uniformArray(v * c, -1, 1);
    for (const paddingIdx of [undefined, 0]) {
      const run = async (b: typeof be | typeof cpu) => {
        const idt = b.tensor(ids, [n], "i32");
        const out = embedding(b, idt, b.tensor(table, [v, c]));
        const dTable = b.tensor(dTable0, [v, c]);
        embeddingBackward(b, idt, b.tensor(dOut, [n, c]), dTable, paddingIdx);
        return [await b.read(out), await b.read(dTable)];
      };
      const [got, want] = [await run(be), await run(cpu)];
      assertClose(got[0], want[0], { what: "gather", rtol: 0, atol: 1e-30 });
      assertClose(got[1], want[1], { what: `dTable (paddingIdx ${paddingIdx})`, rtol: 1e-5, atol: 1e-6 });
      if (paddingIdx === 0) {
        assertClose(got[1].slice(0, c), dTable0.slice(0, c), { what: "padding row untouched", atol: 1e-30 });
      }
    }
  });
}

Deno.test("embedding backward on the GPU is deterministic and sums repeated ids exactly", async () => {
  const be = await gpu();
  const n = 200, v = 3, c = 4;
  // Every dOut value is a small integer, so any summation order gives the exact same float result and
  // the expected sums can be counted by hand: id 1 appears at every odd position.
  const ids = Int32Array.from({ length: n }, (_, i) => (i % 2 === 1 ? 1 : i % 4 === 0 ? 0 : 2));
  const dOut = Float32Array.from({ length: n * c }, (_, e) => (e % c) + 1);
  const reads: Float32Array[] = [];
  for (let rep = 0; rep < 2; rep++) {
    const dTable = be.zeros([v, c]);
    embeddingBackward(be, be.tensor(ids, [n], "i32"), be.tensor(dOut, [n, c]), dTable);
    reads.push((await be.read(dTable)) as Float32Array);
  }
  const counts = [50, 100, 50]; // ids 0, 1, 2
  const want = Float32Array.from({ length: v * c }, (_, e) => counts[Math.floor(e / c)] * ((e % c) + 1));
  assertClose(reads[0], want, { what: "sums", rtol: 0, atol: 1e-30 });
  assertClose(reads[1], reads[0], { what: "second run", rtol: 0, atol: 1e-30 });
});

Deno.test("embedding: out-of-range id throws on CPU and is clamped on the GPU", async () => {
  const be = await gpu();
  const table = Float32Array.from([1, 2, 3, 4, 5, 6]); // V=3, C=2
  let threw = false;
  try {
    embedding(cpu, cpu.tensor([0, 3], [2], "i32"), cpu.tensor(table, [3, 2]));
  } catch {
    threw = true;
  }
  if (!threw) throw new Error("CPU embedding accepted id 3 with V=3");
  const out = embedding(be, be.tensor([-1, 7], [2], "i32"), be.tensor(table, [3, 2]));
  assertClose(await be.read(out), [1, 2, 5, 6], { what: "clamped rows", rtol: 0, atol: 1e-30 });
});

Deno.test("embedding backward matches finite differences of the gather (f64 CPU)", () => {
  const rng = new Rng(8);
  const n = 6, v = 4, c = 3;
  const ids = cpu64.tensor([2, 0, 2, 3, 2, 1], [n], "i32");
  const table = Float64Array.from(rng.uniformArray(v * c));
  const w = Float64Array.from(rng.uniformArray(n * c));
  const loss = (tv: Float64Array) => {
    const y = embedding(cpu64, ids, cpu64.tensor(tv, [v, c])).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  const dTable = cpu64.zeros([v, c]);
  embeddingBackward(cpu64, ids, cpu64.tensor(w, [n, c]), dTable);
  for (const [i, d] of finiteDiff(loss, table, 1e-6)) {
    assertClose([dTable.data[i]], [d], { rtol: 1e-7, atol: 1e-9, what: `dTable[${i}]` });
  }
});
