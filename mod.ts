/**
 * clibd-deno: CLIBD (contrastive learning of insect images, DNA barcodes and
 * taxonomic labels) on Deno with WebGPU compute shaders.
 * @module
 */
export { type Backend, type DType, type HostArray, Tensor } from "./src/tensor.ts";
export { CpuBackend, type CpuBackendOptions } from "./src/cpu_backend.ts";
export { GpuBackend, GpuError } from "./src/gpu/gpu_backend.ts";
export { NoGpuError } from "./src/gpu/device.ts";
