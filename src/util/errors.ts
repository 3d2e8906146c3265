/**
 * Turning failures into one clear line for command-line users instead of a stack
 * trace (set CLIBD_DEBUG=1 to see the trace).
 * @module
 */

/** An error whose message is meant for the user as it is (bad input, bad config, missing file). */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Runs a task's main function; on failure prints `error: <message>` and exits with code 1. */
export async function runMain(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e as Error;
    console.error(`${name}: error: ${err?.message ?? String(e)}`);
    if (Deno.env.get("CLIBD_DEBUG")) console.error(err?.stack);
    Deno.exit(1);
  }
}
