/**
 * `deno task make-demo [--seed N] [--size 64] [--out FILE]`: builds the demo dataset
 * (see src/data/demo.ts) and prints the records and species per split.
 */
import { parseArgs } from "node:util";
import { buildDemo } from "../src/data/demo.ts";
import { runMain } from "../src/util/errors.ts";

if (import.meta.main) {
  await runMain("make-demo", async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        seed: { type: "string", default: "42" },
        size: { type: "string", default: "64" },
        out: { type: "string" },
      },
    });
    const t0 = performance.now();
    const { path, summary } = await buildDemo({
      seed: Number(values.seed),
      size: Number(values.size),
      out: values.out,
      log: console.error,
    });
    const mb = (await Deno.stat(path)).size / 2 ** 20;
    console.log(`${path}: ${mb.toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    console.log(summary);
  });
}
