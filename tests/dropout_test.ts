import { dropout, dropoutBackward, dropoutHash, pcgHash } from "../src/ops/dropout.ts";
import { Rng } from "../src/util/rng.ts";
import { assert } from "./assert.ts";
import { assertClose, cpu, gpu } from "./helpers.ts";

Deno.test("dropout hash: u32 outputs, known PCG values, sensitive to every argument", () => {
  // pcg_hash(0) of Jarzynski & Olano's reference C: state = 2891336453; word = ((state >> 14) ^ state) * 277803737.
  const state = 2891336453;
  const word = Number((BigInt(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0) * 277803737n) % (1n << 32n));
  assert(pcgHash(0) === ((word >>> 22) ^ word) >>> 0, "pcgHash(0) vs BigInt reference");
  for (const v of [1, 12345, 0xffffffff, 2 ** 31]) {
    const h = pcgHash(v);
    assert(Number.isInteger(h) && h >= 0 && h < 2 ** 32, `pcgHash(${v}) = ${h}`);
  }
  const base = dropoutHash(1, 2, 3);
  assert(base !== dropoutHash(2, 2, 3) && base !== dropoutHash(1, 3, 3) && base !== dropoutHash(1, 2, 4));
});

for (
  const [rows, cols, p, off] of [[1, 1, 0.5, 0], [7, 33, 0.1, 0], [257, 129, 0.3, 11], [3, 4099, 0.9, 5]]
) {
  Deno.test(`dropout GPU mask == CPU mask bit for bit (${rows}x${cols}, p=${p}, offset ${off})`, async () => {
    const be = await gpu();
    const rng = new Rng(rows * cols);
    const x = rng.uniformArray(rows * cols, 0.5, 2); // nonzero, so y == 0 exactly marks a dropped element
    const seed = 0x9e3779b9 + rows;
    const g = await be.read(dropout(be, be.tensor(x, [rows, cols]), p, seed, { rowOffset: off }));
    const c = await cpu.read(dropout(cpu, cpu.tensor(x, [rows, cols]), p, seed, { rowOffset: off }));
    for (let i = 0; i < x.length; i++) {
      if ((g[i] === 0) !== (c[i] === 0)) throw new Error(`mask differs at ${i}: gpu ${g[i]} cpu ${c[i]}`);
    }
    assertClose(g, c, { rtol: 1e-6, atol: 0, what: "dropout values" });
    const dy = rng.uniformArray(rows * cols, -1, 1);
    const gb = await be.read(dropoutBackward(be, be.tensor(dy, [rows, cols]), p, seed, { rowOffset: off }));
    assertClose(
      gb,
      await cpu.read(dropoutBackward(cpu, cpu.tensor(dy, [rows, cols]), p, seed, { rowOffset: off })),
      {
        rtol: 1e-6,
        atol: 0,
        what: "dropout backward",
      },
    );
  });
}

for (const p of [0.1, 0.5]) {
  Deno.test(`dropout keeps ~1-p of 1e5 elements and scales them by 1/(1-p) (p=${p})`, async () => {
    const be = await gpu();
    const n = 100_000, cols = 250;
    const y = await be.read(dropout(be, be.tensor(new Float32Array(n).fill(1), [n / cols, cols]), p, 42));
    let kept = 0;
    for (const v of y) {
      if (v !== 0) {
        kept++;
        assertClose([v], [1 / (1 - p)], { rtol: 1e-6, atol: 0, what: "kept value" });
      }
    }
    const sd = Math.sqrt(n * p * (1 - p));
    assert(Math.abs(kept - n * (1 - p)) < 5 * sd, `kept ${kept}, expected ${n * (1 - p)} +- ${5 * sd}`);
  });
}

Deno.test("dropout backward == mask / (1-p) * dy; row offset shifts the mask by rows", async () => {
  const rng = new Rng(3);
  const rows = 20, cols = 17, p = 0.25, seed = 7;
  const ones = cpu.tensor(new Float32Array(rows * cols).fill(1), [rows, cols]);
  const mask = (await cpu.read(dropout(cpu, ones, p, seed))).map((v) => v * (1 - p));
  const dy = rng.uniformArray(rows * cols, -1, 1);
  const dx = await cpu.read(dropoutBackward(cpu, cpu.tensor(dy, [rows, cols]), p, seed));
  assertClose(dx, dy.map((v, i) => mask[i] * v / (1 - p)), { rtol: 1e-6, atol: 0 });
  // The last 5 rows with offset 15 use the same mask as rows 15..19 of the whole.
  const tail = cpu.tensor(new Float32Array(5 * cols).fill(1), [5, cols]);
  const m2 = (await cpu.read(dropout(cpu, tail, p, seed, { rowOffset: 15 }))).map((v) => v * (1 - p));
  assertClose(m2, mask.slice(15 * cols), { rtol: 0, atol: 1e-6 });
});

Deno.test("dropout with p = 0 is the identity (CPU and GPU)", async () => {
  const be = await gpu();
  const x = new Rng(5).uniformArray(1000, -3, 3);
  for (const b of [cpu, be]) {
    const y = await b.read(dropout(b, b.tensor(x, [10, 100]), 0, 123));
    assertClose(y, x, { rtol: 0, atol: 0, what: `${b.kind} p=0` });
  }
});
