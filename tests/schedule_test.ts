/**
 * LR schedules vs the rates PyTorch's schedulers produced (tests/fixtures/optim/schedules.json,
 * made by scripts/make_optim_fixtures.py).
 */
import { cosine, exponential, type LrSchedule, oneCycle, stepDecay } from "../src/train/schedule.ts";
import { assertClose } from "./helpers.ts";

interface Case {
  kind: string;
  lrs: number[];
  [key: string]: unknown;
}
const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/optim/schedules.json", import.meta.url)),
) as { cases: Case[] };

function build(c: Case): LrSchedule {
  const n = (k: string) => c[k] as number;
  switch (c.kind) {
    case "one_cycle":
      return oneCycle({
        maxLr: n("maxLr"),
        totalSteps: n("totalSteps"),
        threePhase: c.threePhase as boolean | undefined,
        anneal: c.anneal as "cos" | "linear" | undefined,
        pctStart: c.pctStart as number | undefined,
        divFactor: c.divFactor as number | undefined,
        finalDivFactor: c.finalDivFactor as number | undefined,
      });
    case "cosine":
      return cosine(n("baseLr"), n("tMax"), n("etaMin"));
    case "exponential":
      return exponential(n("baseLr"), n("gamma"));
    case "step":
      return stepDecay(n("baseLr"), n("stepSize"), n("gamma"));
  }
  throw new Error(`unknown kind ${c.kind}`);
}

for (const c of fixture.cases) {
  const label = JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => k !== "lrs")));
  Deno.test(`schedule matches PyTorch: ${label}`, () => {
    const s = build(c);
    const ours = c.lrs.map((_, t) => s.lrAt(t));
    // PyTorch's CosineAnnealingLR is recursive, so it agrees with the closed form only to rounding.
    assertClose(ours, c.lrs, { rtol: 1e-12, atol: 1e-18, what: c.kind });
  });
}

Deno.test("oneCycle with 3 steps skips warm-up (spec 11) and defaults match CLIBD", () => {
  const s = oneCycle({ maxLr: 1, totalSteps: 3 });
  // Independent of the fixture: boundary -0.1, so step 0 anneals from max with pct 0.1/2.1.
  const minLr = 1 / 25 / 1e4;
  const expect0 = minLr + ((1 - minLr) / 2) * (Math.cos((Math.PI * 0.1) / 2.1) + 1);
  assertClose([s.lrAt(0)], [expect0], { rtol: 1e-14, atol: 0 });
  const long = oneCycle({ maxLr: 2e-4, totalSteps: 1000 });
  assertClose([long.lrAt(0), long.lrAt(999)], [8e-6, 8e-10], { rtol: 1e-12, atol: 0 });
  let threw = false;
  try {
    long.lrAt(1001);
  } catch {
    threw = true;
  }
  if (!threw) throw new Error("lrAt past totalSteps must throw, as in PyTorch");
});
