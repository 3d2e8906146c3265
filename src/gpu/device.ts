/**
 * Acquiring the WebGPU adapter and device: one device per process, shared by
 * everything (tests included), with the adapter's largest buffer limits and the
 * optional features we can use.
 * @module
 */

/** Optional features we ask for when the adapter has them. */
const OPTIONAL_FEATURES: GPUFeatureName[] = [
  "shader-f16",
  "subgroups",
  "timestamp-query",
] as GPUFeatureName[];

/** What we know about the acquired device. */
export interface GpuInfo {
  /** One-line description of the adapter, printed at start. */
  readonly description: string;
  /** True for software adapters (llvmpipe/lavapipe, WARP, SwiftShader). */
  readonly isSoftware: boolean;
  /** Optional features that were enabled on the device. */
  readonly features: ReadonlySet<string>;
}

/** Error thrown when no WebGPU adapter can be found. */
export class NoGpuError extends Error {
  constructor() {
    super(
      "No WebGPU adapter found. Install a GPU driver with Vulkan/Metal/DX12 support, or on a server " +
        "without a GPU install Mesa's software driver (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers " +
        "libvulkan1`). Set DENO_WEBGPU_BACKEND=vulkan or gl to force a backend.",
    );
    this.name = "NoGpuError";
  }
}

let devicePromise: Promise<{ device: GPUDevice; info: GpuInfo }> | undefined;

/**
 * Returns the process-wide GPU device, creating it on first use.
 * @param log print the adapter line (default: when CLIBD_QUIET is unset)
 */
export function getDevice(log = !Deno.env.get("CLIBD_QUIET")): Promise<{ device: GPUDevice; info: GpuInfo }> {
  devicePromise ??= acquire(log);
  return devicePromise;
}

async function acquire(log: boolean): Promise<{ device: GPUDevice; info: GpuInfo }> {
  if (typeof navigator === "undefined" || !("gpu" in navigator)) throw new NoGpuError();
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new NoGpuError();
  const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  const ai = adapter.info;
  const isSoftware = (ai as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|warp|software/i.test(`${ai.description} ${ai.device}`);
  const description = `${ai.description || ai.device || "unknown adapter"} (vendor ${ai.vendor || "?"}` +
    `${ai.architecture ? ", " + ai.architecture : ""}; ${isSoftware ? "software" : "hardware"}; features: ` +
    `${features.join(", ") || "none"}; max buffer ${
      (l.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)
    } MiB)`;
  if (log) console.error(`[gpu] ${description}`);
  device.lost.then((info) => {
    if (info.reason !== "destroyed") console.error(`[gpu] device lost: ${info.message}`);
  });
  return { device, info: { description, isSoftware, features: new Set(features) } };
}
