/**
 * Minimal assertions (JSR's @std/assert is not reachable from our machines).
 */
import { deepStrictEqual } from "node:assert";

/** Deep equality with a readable diff (node:assert). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  deepStrictEqual(actual, expected, msg);
}

/** Asserts that fn throws and, when given, that the message contains `includes`. */
export function assertThrows(fn: () => unknown, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    const err = e as Error;
    if (includes !== undefined && !String(err.message).includes(includes)) {
      throw new Error(`expected an error containing "${includes}", got: ${err.message}`);
    }
    return err;
  }
  throw new Error(`expected an error${includes ? ` containing "${includes}"` : ""}, but none was thrown`);
}

/** Asserts that the promise rejects and, when given, that the message contains `includes`. */
export async function assertRejects(fn: () => Promise<unknown>, includes?: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    if (includes !== undefined && !String(err.message).includes(includes)) {
      throw new Error(`expected an error containing "${includes}", got: ${err.message}`);
    }
    return err;
  }
  throw new Error(`expected a rejection${includes ? ` containing "${includes}"` : ""}, but none happened`);
}

/** Asserts a condition. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}
