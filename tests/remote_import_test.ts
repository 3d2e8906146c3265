/**
 * mod.ts works when imported from a URL, as from JSR, not from a local checkout: the repository is
 * served read-only over HTTP on 127.0.0.1 and a child `deno run` imports `http://127.0.0.1:<port>/mod.ts`,
 * loads the default config, builds a GPU and a CPU model, and embeds a barcode and a taxonomy label (the
 * bundled WGSL kernels, the default config and the WordPiece vocabulary all come over HTTP). The child has
 * no read permission (`--deny-read` covers the checkout; it checks it cannot read it), so nothing comes from
 * disk but the npm packages Deno itself loads from its cache.
 */
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = decodeURIComponent(ROOT.pathname).replace(/\/$/, "");

const TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".js": "application/javascript",
  ".json": "application/json",
  ".yaml": "text/yaml",
  ".txt": "text/plain",
  ".wgsl": "text/plain",
};

/** Where Deno keeps its caches (npm packages under `npm/`), as `deno info --json` reports it. */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

Deno.test("mod.ts imported from an HTTP URL: kernels, config and vocabulary load remotely", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "clibd_remote_" });
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method !== "GET") return new Response("read-only", { status: 405 });
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.split("/").includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(new URL("." + path, ROOT));
      served.push(path);
      const ext = path.slice(path.lastIndexOf("."));
      return new Response(body, { headers: { "content-type": TYPES[ext] ?? "application/octet-stream" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const host = `127.0.0.1:${server.addr.port}`;
    // A fresh DENO_DIR so the served modules are fetched (and cached) here, not in the user's cache; its
    // npm/ links to the real npm cache so the pinned packages resolve offline.
    const npmCache = `${await denoDir()}/npm`;
    const childDenoDir = `${tmp}/deno_dir`;
    await Deno.mkdir(childDenoDir);
    await Deno.symlink(npmCache, `${childDenoDir}/npm`);
    const rootConfig = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
    await Deno.writeTextFile(`${tmp}/deno.json`, JSON.stringify({ imports: rootConfig.imports }));
    await Deno.writeTextFile(
      `${tmp}/main.ts`,
      `import { CpuBackend, embedBarcodes, embedTaxonomy, GpuBackend, loadModel } from "http://${host}/mod.ts";
const barcodes = ["AACTTTATATTTTATTTTTGGGGCCTGATCTGGAATAGTAGG", "ACGTNNACGTTTGCA"];
const labels = [{ order: "Diptera", family: "Chironomidae" }, "lepidoptera geometridae"];
const gpu = await loadModel({ backend: await GpuBackend.create() });
const cpu = await loadModel({ backend: new CpuBackend() });
const out = {};
for (const [name, run] of [["dna", (m) => embedBarcodes(m, barcodes)], ["text", (m) => embedTaxonomy(m, labels)]]) {
  const g = await run(gpu), c = await run(cpu);
  let diff = 0;
  const norms = [];
  for (let r = 0; r < g.rows; r++) {
    let s = 0;
    for (let j = 0; j < g.dim; j++) s += g.data[r * g.dim + j] ** 2;
    norms.push(Math.sqrt(s));
  }
  for (let i = 0; i < g.data.length; i++) diff = Math.max(diff, Math.abs(g.data[i] - c.data[i]));
  out[name] = { rows: g.rows, dim: g.dim, cpuDim: c.dim, norms, maxDiff: diff };
}
gpu.release();
cpu.release();
let repoReadable = true;
try {
  Deno.readTextFileSync(${JSON.stringify(`${ROOT_PATH}/deno.json`)});
} catch {
  repoReadable = false;
}
console.log(JSON.stringify({ ...out, repoReadable }));
`,
    );
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        `--config=${tmp}/deno.json`,
        `--allow-import=${host}`,
        "--allow-net=127.0.0.1",
        "--allow-env",
        "--allow-sys", // sharp (detect-libc) reads a process report
        `--allow-ffi=${npmCache}`, // sharp's native addon, imported by mod.ts
        // No --allow-read at all: Deno loads npm packages from its cache without it, and nothing of the
        // library may come from disk; --deny-read makes that explicit for the checkout.
        `--deny-read=${ROOT_PATH}`,
        `${tmp}/main.ts`,
      ],
      cwd: tmp,
      env: { DENO_DIR: childDenoDir, CLIBD_QUIET: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(child.stdout), stderr = new TextDecoder().decode(child.stderr);
    assert(child.success, `child failed (code ${child.code}):\n${stderr}\n${stdout}`);
    const res = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assertEquals(res.repoReadable, false, "the child could read the checkout");
    for (const name of ["dna", "text"]) {
      const r = res[name];
      assertEquals([r.rows, r.dim, r.cpuDim], [2, 32, 32], name);
      for (const n of r.norms) assert(Math.abs(n - 1) < 1e-4, `${name}: L2 norm ${n}`);
      assert(r.maxDiff < 1e-4, `${name}: GPU vs CPU max |diff| ${r.maxDiff}`);
    }
    // The code, the config and the vocabulary really came over HTTP.
    for (const p of ["/mod.ts", "/src/gpu/kernel_sources.ts", "/configs/demo_tiny.yaml"]) {
      assert(served.includes(p), `${p} was not requested (served: ${served.length} paths)`);
    }
    assert(served.includes("/data/vocab/bert-base-uncased-vocab.txt"), "vocabulary not fetched");
  } finally {
    await server.shutdown();
    await Deno.remove(tmp, { recursive: true });
  }
});
