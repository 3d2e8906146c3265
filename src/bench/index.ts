/**
 * The list of benchmark sections run by `tasks/bench.ts`. Adding a section is one import and one
 * entry in `SECTIONS`: a module in `src/bench/` exporting `name: string` and
 * `run(ctx: BenchContext): Promise<BenchRow[]>`.
 */
import type { BenchSection } from "./types.ts";
import * as matmul from "./matmul.ts";
import * as dispatch from "./dispatch.ts";
import * as topk from "./topk.ts";
import * as image from "./image.ts";
import * as data from "./data.ts";
import * as attention from "./attention.ts";
import * as layernorm from "./layernorm.ts";
import * as model from "./model.ts";

export type { BenchContext, BenchRow, BenchSection } from "./types.ts";

/** All sections, in the order they run and print. */
export const SECTIONS: BenchSection[] = [
  dispatch,
  matmul,
  attention,
  layernorm,
  topk,
  image,
  data,
  model,
];
