import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { MetricsLog, parseMetrics, readMetrics, writeResolvedConfig } from "../src/train/log.ts";
import { renderCurves, writeCurves } from "../src/train/curves.ts";
import { resolveConfig } from "../src/config/load.ts";

/** Minimal XML well-formedness check: balanced, properly nested tags, quoted attributes, known entities. */
function checkXml(xml: string): string[] {
  const stack: string[] = [];
  const opened: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!amp;|lt;|gt;|quot;|#\d+;)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    if (m[0] === "<" || m[0].startsWith("&")) {
      throw new Error(`stray "${m[0]}" at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    }
    const [, close, name, , self] = m;
    if (close) {
      const top = stack.pop();
      if (top !== name) throw new Error(`</${name}> closes <${top}>`);
    } else if (!self) {
      stack.push(name);
      opened.push(name);
    } else opened.push(name);
  }
  if (stack.length) throw new Error(`unclosed <${stack.join("> <")}>`);
  return opened;
}

Deno.test("metrics log: one JSON line per record, appended, non-finite numbers as null", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clibd_log_" });
  const path = join(dir, "run", "metrics.jsonl");
  let log = await MetricsLog.open(path);
  await log.write({ kind: "train", step: 1, loss: 2.5, lr: 1e-4 });
  await log.write({ kind: "train", step: 2, loss: NaN, lr: Infinity });
  // written through immediately: readable before close
  assertEquals((await Deno.readTextFile(path)).split("\n").length, 3);
  await log.close();
  log = await MetricsLog.open(path);
  await log.write({ kind: "val", step: 2, epoch: 0, overall_acc: 0.25 });
  await log.close();
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assertEquals(lines.length, 3);
  assertEquals(lines.map((l) => JSON.parse(l).step), [1, 2, 2]);
  assertEquals(JSON.parse(lines[1]), { kind: "train", step: 2, loss: null, lr: null });
  assertEquals((await readMetrics(path)).length, 3);
});

Deno.test("metrics log: truncated last line is ignored, resuming drops later steps", async () => {
  const good = '{"kind":"train","step":1,"loss":1}\n{"kind":"train","step":2,"loss":0.5}\n';
  assertEquals(parseMetrics(good + '{"kind":"tra').length, 2);
  assertThrows(() => parseMetrics('{"kind":"train"}\n' + good), "<metrics>:1: bad metrics line");
  const dir = await Deno.makeTempDir({ prefix: "clibd_log_" });
  const path = join(dir, "metrics.jsonl");
  await Deno.writeTextFile(path, good + '{"kind":"train","step":3,"loss":0.2}\n{"kind":"tr');
  const log = await MetricsLog.open(path, { dropAfterStep: 2 });
  await log.write({ kind: "train", step: 3, loss: 0.3 });
  await log.close();
  assertEquals((await readMetrics(path)).map((r) => [r.step, r.loss]), [[1, 1], [2, 0.5], [3, 0.3]]);
  assertEquals(await readMetrics(join(dir, "none.jsonl")), []);
});

Deno.test("resolved config file loads back to the same config", async () => {
  const { config, sources } = await resolveConfig(null, ["epochs=2"]);
  const dir = await Deno.makeTempDir({ prefix: "clibd_log_" });
  await writeResolvedConfig(join(dir, "config.yaml"), config, sources);
  const text = await Deno.readTextFile(join(dir, "config.yaml"));
  assert(text.startsWith("# Resolved CLIBD run config") && text.includes("# overrides: epochs=2"), text);
  assertEquals((await resolveConfig(join(dir, "config.yaml"))).config, config);
});

Deno.test("curves: well-formed SVG with one path per non-empty series", async () => {
  const recs = [];
  for (let s = 0; s <= 40; s += 5) {
    recs.push({
      kind: "train",
      step: s,
      epoch: Math.floor(s / 20),
      loss: 4 / (1 + s),
      loss_image_dna: 2 / (1 + s),
      lr: 1e-5 * (1 + s),
      logit_scale: 2.66 + s / 100,
    });
  }
  recs.push({ kind: "train", step: 41, loss: NaN, lr: 1e-4, logit_scale: 3 });
  recs.push({ kind: "val", step: 20, epoch: 0, overall_acc: 0.2, dna_to_dna_species: 0.5 });
  recs.push({ kind: "val", step: 40, epoch: 1, overall_acc: 0.3, dna_to_dna_species: 0.6 });
  recs.push({ kind: "event", step: 40, message: "saved <best> & done" });
  const svg = renderCurves(recs);
  const tags = checkXml(svg);
  // 4 charts nested in one document; series: loss, loss_image_dna, lr, logit_scale, 2 accuracies
  assertEquals(tags.filter((t) => t === "svg").length, 5);
  assertEquals(tags.filter((t) => t === "path").length, 6);
  assert(!/NaN|Infinity/.test(svg), "no non-finite coordinates");
  assert(svg.includes(">overall top-1<") && svg.includes(">loss_image_dna<"));

  // empty log: still a valid document (empty charts)
  checkXml(renderCurves([]));

  const dir = await Deno.makeTempDir({ prefix: "clibd_log_" });
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await writeCurves(join(dir, "metrics.jsonl"), join(dir, "curves.svg"));
  assertEquals(await Deno.readTextFile(join(dir, "curves.svg")), svg);
  assertThrows(() => checkXml("<svg><g></svg>"), "closes");
});

Deno.test("signals: SIGINT runs the save once, then exits with 130", async () => {
  if (Deno.build.os === "windows") return;
  const dir = await Deno.makeTempDir({ prefix: "clibd_sig_" });
  const mod = fileURLToPath(new URL("../src/train/signals.ts", import.meta.url));
  const script = join(dir, "child.ts");
  await Deno.writeTextFile(
    script,
    `import { onInterrupt } from ${JSON.stringify(mod)};
let n = 0;
onInterrupt(async () => { n++; await Deno.writeTextFile(${
      JSON.stringify(join(dir, "saved"))
    }, String(n)); }, { log: () => {} });
console.log("ready");
setTimeout(() => {}, 60_000);
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assert(new TextDecoder().decode(value).includes("ready"));
  child.kill("SIGINT");
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  assertEquals(status.code, 130);
  assertEquals(await Deno.readTextFile(join(dir, "saved")), "1");
});
