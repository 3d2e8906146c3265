/**
 * Progress reporting for long loops (training, embedding extraction, search). On a terminal: one line
 * redrawn in place (label, done/total, percent, custom fields, rate, ETA). Elsewhere (logs, CI): the same
 * line printed as plain text every `intervalSec` seconds and/or every `everyItems` items, so logs stay short.
 * @module
 */

/** Extra values shown on the line, e.g. `{ loss: 2.31, lr: 1.2e-4 }`. */
export type ProgressFields = Record<string, number | string>;

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Shown first, e.g. `train epoch 3`. */
  label: string;
  /** Total items, or null when unknown (no percent / ETA). */
  total?: number | null;
  /** Item unit for the rate (default `it`). */
  unit?: string;
  /** Redraw one line in place (default: whether stderr is a terminal). */
  tty?: boolean;
  /** Plain mode: print at most every this many seconds (default 10). */
  intervalSec?: number;
  /** Plain mode: also print whenever this many items have passed since the last line. */
  everyItems?: number;
  /** Output sink (default: stderr). */
  write?: (text: string) => void;
  /** Clock in milliseconds (default `performance.now`); tests pass a fake one. */
  now?: () => number;
}

const enc = new TextEncoder();

/** Formats a number compactly: 4 significant digits, exponent form for very large or small values. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}

/** Formats seconds as `45s`, `3m05s` or `2h07m`. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "?";
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A progress bar / progress log for one loop. */
export class Progress {
  private readonly label: string;
  private total: number | null;
  private readonly unit: string;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly everyItems: number | null;
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private readonly start: number;
  private done = 0;
  private fields: ProgressFields = {};
  private lastDraw = -Infinity;
  private lastPrintedDone = 0;
  private drawn = false;
  private finished = false;

  constructor(opts: ProgressOptions) {
    this.label = opts.label;
    this.total = opts.total ?? null;
    this.unit = opts.unit ?? "it";
    this.tty = opts.tty ?? Deno.stderr.isTerminal();
    this.intervalMs = (opts.intervalSec ?? 10) * 1000;
    this.everyItems = opts.everyItems ?? null;
    this.write = opts.write ?? ((t) => void Deno.stderr.writeSync(enc.encode(t)));
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Sets the number of items done so far and (merged) fields; redraws / prints when due. */
  update(done: number, fields?: ProgressFields): void {
    this.done = done;
    if (fields) this.fields = { ...this.fields, ...fields };
    this.maybeDraw();
  }

  /** Adds `n` items done (default 1). */
  tick(n = 1, fields?: ProgressFields): void {
    this.update(this.done + n, fields);
  }

  /** Changes the total (e.g. once it becomes known). */
  setTotal(total: number | null): void {
    this.total = total;
  }

  /** Prints a message without garbling the bar (terminal: clears the line, prints, redraws). */
  log(message: string): void {
    if (this.tty && this.drawn) this.write(`\r\x1b[K${message}\n`);
    else this.write(message + "\n");
    if (this.tty && this.drawn) this.draw();
  }

  /** Prints the final line (always) and ends the bar. Idempotent. */
  finish(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields) this.fields = { ...this.fields, ...fields };
    this.finished = true;
    if (this.tty) this.write(`\r\x1b[K${this.line()}\n`);
    else this.write(this.line() + "\n");
  }

  /** The current status line (no control characters). */
  line(): string {
    const parts = [this.label];
    const elapsed = (this.now() - this.start) / 1000;
    if (this.total !== null && this.total > 0) {
      parts.push(`${this.done}/${this.total}`, `${((100 * this.done) / this.total).toFixed(1)}%`);
    } else {
      parts.push(`${this.done}`);
    }
    const f = Object.entries(this.fields).map(([k, v]) =>
      `${k} ${typeof v === "number" ? formatNumber(v) : v}`
    );
    if (f.length) parts.push("|", f.join("  "));
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    parts.push("|", `${formatNumber(Number(rate.toPrecision(3)))} ${this.unit}/s`);
    if (this.finished || (this.total !== null && this.done >= this.total)) {
      parts.push(`elapsed ${formatDuration(elapsed)}`);
    } else if (this.total !== null && rate > 0) {
      parts.push(`ETA ${formatDuration((this.total - this.done) / rate)}`);
    }
    return parts.join("  ");
  }

  private maybeDraw(): void {
    if (this.finished) return;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= 100) this.draw();
      return;
    }
    const byTime = t - this.lastDraw >= this.intervalMs && this.lastDraw !== -Infinity;
    const byItems = this.everyItems !== null && this.done - this.lastPrintedDone >= this.everyItems;
    if (this.lastDraw === -Infinity) this.lastDraw = t; // first update starts the clock; no line yet
    if (byTime || byItems) {
      this.lastDraw = t;
      this.lastPrintedDone = this.done;
      this.write(this.line() + "\n");
    }
  }

  private draw(): void {
    this.lastDraw = this.now();
    let text = this.line();
    try {
      const cols = Deno.consoleSize().columns;
      if (text.length > cols - 1) text = text.slice(0, cols - 1);
    } catch {
      // not a console: keep the whole line
    }
    this.write(`\r${text}\x1b[K`);
    this.drawn = true;
  }
}
