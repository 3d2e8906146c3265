/**
 * Helpers for laying out 1-D work over WebGPU's 3-D dispatch grid.
 * @module
 */

/** Max workgroups per dimension guaranteed by WebGPU. */
export const MAX_GROUPS = 65535;

/**
 * Workgroup counts for `n` threads in groups of `size`, folded into 2-D when
 * needed. `row` is the number of threads per grid row (the kernel's `p.row`).
 */
export function grid1d(n: number, size = 256): { groups: [number, number]; row: number } {
  const groups = Math.ceil(n / size);
  if (groups <= MAX_GROUPS) return { groups: [Math.max(groups, 1), 1], row: groups * size };
  const gx = MAX_GROUPS;
  return { groups: [gx, Math.ceil(groups / gx)], row: gx * size };
}
