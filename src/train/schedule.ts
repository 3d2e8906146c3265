/**
 * Learning-rate schedules of CLIBD (spec 4 and 9.1) as pure functions of the
 * scheduler step, reproducing PyTorch's `torch.optim.lr_scheduler` classes.
 *
 * `lrAt(t)` is the learning rate the optimiser uses for its (t+1)-th step, i.e.
 * the value PyTorch's `optimizer.param_groups[0]["lr"]` holds after `t` calls of
 * `scheduler.step()`. CLIBD steps its scheduler once per iteration.
 * @module
 */

/** A learning-rate schedule. */
export interface LrSchedule {
  /** Learning rate after `step` scheduler steps (step 0 = the first optimiser step). */
  lrAt(step: number): number;
}

/** Options of {@link oneCycle}; defaults are PyTorch's except `cycle_momentum`, which CLIBD turns off. */
export interface OneCycleOptions {
  /** Peak learning rate. */
  maxLr: number;
  /** Total number of scheduler steps (CLIBD: steps per epoch x epochs). */
  totalSteps: number;
  /** Fraction of the cycle spent warming up (default 0.3). */
  pctStart?: number;
  /** "cos" (default) or "linear". */
  anneal?: "cos" | "linear";
  /** initial_lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** min_lr = initial_lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** PyTorch's three_phase (default false). */
  threePhase?: boolean;
}

/** PyTorch `_annealing_cos`: from `start` at pct 0 to `end` at pct 1. */
function annealCos(start: number, end: number, pct: number): number {
  const cosOut = Math.cos(Math.PI * pct) + 1;
  return end + ((start - end) / 2.0) * cosOut;
}

/** PyTorch `_annealing_linear`. */
function annealLinear(start: number, end: number, pct: number): number {
  return (end - start) * pct + start;
}

/**
 * `torch.optim.lr_scheduler.OneCycleLR` with `cycle_momentum=False`.
 *
 * The phase boundaries are floats, exactly as in PyTorch: warm-up ends at
 * `pctStart * totalSteps - 1`. For very short schedules (e.g. 3 steps) that
 * boundary is negative, so step 0 already lies in the annealing phase and the
 * warm-up is skipped (spec 11). Like PyTorch, steps beyond `totalSteps` throw.
 */
export function oneCycle(opts: OneCycleOptions): LrSchedule {
  const { maxLr, totalSteps } = opts;
  if (!(totalSteps > 0) || !Number.isInteger(totalSteps)) {
    throw new Error(`oneCycle: totalSteps must be a positive integer, got ${totalSteps}`);
  }
  const pctStart = opts.pctStart ?? 0.3;
  if (!(pctStart >= 0 && pctStart <= 1)) throw new Error(`oneCycle: pctStart ${pctStart} not in [0, 1]`);
  const initialLr = maxLr / (opts.divFactor ?? 25);
  const minLr = initialLr / (opts.finalDivFactor ?? 1e4);
  const anneal = (opts.anneal ?? "cos") === "cos" ? annealCos : annealLinear;
  const phases: { end: number; from: number; to: number }[] = opts.threePhase
    ? [
      { end: pctStart * totalSteps - 1, from: initialLr, to: maxLr },
      { end: 2 * pctStart * totalSteps - 2, from: maxLr, to: initialLr },
      { end: totalSteps - 1, from: initialLr, to: minLr },
    ]
    : [
      { end: pctStart * totalSteps - 1, from: initialLr, to: maxLr },
      { end: totalSteps - 1, from: maxLr, to: minLr },
    ];
  return {
    lrAt(step: number): number {
      if (step > totalSteps) {
        throw new Error(`oneCycle: step ${step} is past totalSteps ${totalSteps}`);
      }
      let start = 0;
      for (let i = 0; i < phases.length; i++) {
        const ph = phases[i];
        if (step <= ph.end || i === phases.length - 1) {
          // PyTorch raises ZeroDivisionError when a phase has zero length (e.g. pctStart
          // * totalSteps == 1 at step 0); we return the phase's start rate instead.
          const span = ph.end - start;
          const pct = span === 0 ? 0 : (step - start) / span;
          return anneal(ph.from, ph.to, pct);
        }
        start = ph.end;
      }
      throw new Error("unreachable");
    },
  };
}

/**
 * `CosineAnnealingLR(T_max, eta_min)` in closed form: eta_min + (base - eta_min)(1 + cos(pi t / T_max)) / 2.
 * PyTorch evaluates a recursive form that agrees with this to rounding for t <= T_max.
 */
export function cosine(baseLr: number, tMax: number, etaMin = 0): LrSchedule {
  if (!(tMax > 0)) throw new Error(`cosine: tMax must be > 0, got ${tMax}`);
  return { lrAt: (t) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2 };
}

/** `ExponentialLR(gamma)`: base * gamma^t (CLIBD: gamma 0.95). */
export function exponential(baseLr: number, gamma = 0.95): LrSchedule {
  return { lrAt: (t) => baseLr * gamma ** t };
}

/** `StepLR(step_size, gamma)`: base * gamma^floor(t / stepSize) (CLIBD: 10, 0.5). */
export function stepDecay(baseLr: number, stepSize = 10, gamma = 0.5): LrSchedule {
  return { lrAt: (t) => baseLr * gamma ** Math.floor(t / stepSize) };
}
