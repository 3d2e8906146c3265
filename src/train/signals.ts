/**
 * Save-on-interrupt: Ctrl-C (SIGINT) or SIGTERM runs the given save once, then exits with the shell's
 * conventional code (130 / 143). A second signal while the save is running exits at once.
 * @module
 */

/** Exit codes 128 + signal number. */
const EXIT_CODES: Readonly<Record<"SIGINT" | "SIGTERM", number>> = { SIGINT: 130, SIGTERM: 143 };

/** Options of {@link onInterrupt}. */
export interface InterruptOptions {
  /** Message sink (default: console.error). */
  log?: (message: string) => void;
  /** Process exit (default Deno.exit). */
  exit?: (code: number) => void;
}

/**
 * Registers SIGINT/SIGTERM handlers that run `save` once and then exit with 130/143.
 * @returns a function that removes the handlers (call it when the loop ends normally)
 */
export function onInterrupt(save: () => Promise<void>, opts: InterruptOptions = {}): () => void {
  const log = opts.log ?? ((m: string) => console.error(m));
  const exit = opts.exit ?? ((c: number) => Deno.exit(c));
  let saving = false;
  const registered: [Deno.Signal, () => void][] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const handler = () => {
      const code = EXIT_CODES[sig];
      if (saving) {
        log(`${sig} again: exiting without waiting for the save`);
        exit(code);
        return;
      }
      saving = true;
      log(`${sig}: saving a checkpoint before exiting (send it again to exit at once)`);
      save().then(
        () => exit(code),
        (e) => {
          log(`save on ${sig} failed: ${(e as Error)?.message ?? e}`);
          exit(code);
        },
      );
    };
    try {
      Deno.addSignalListener(sig, handler);
      registered.push([sig, handler]);
    } catch {
      // SIGTERM listeners are not supported on Windows: Ctrl-C still works there
    }
  }
  return () => {
    for (const [sig, h] of registered.splice(0)) Deno.removeSignalListener(sig, h);
  };
}
