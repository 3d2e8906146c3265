/**
 * Loading run configs: YAML files with `extends:` (a path relative to the extending file), deep-merged
 * base-first; then `--set a.b=c` overrides typed by the schema; then validation. Every value remembers the
 * file (or override) that set it, so errors name both the field path and its source.
 *
 * Merge rules: mappings merge key by key; anything else (scalars, lists, `null`) replaces. `null` on an
 * optional section removes it, e.g. `language: null` drops the text tower inherited from a base file.
 * @module
 */
import { dirname, resolve } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { UserError } from "../util/errors.ts";
import { bundledLocation, isRemote, readTextLocation } from "../util/location.ts";
import type { RunConfig } from "./schema.ts";
import {
  isPlainObject,
  originLookup,
  parseOverrideValue,
  specAt,
  validateRunConfig,
  type ValueOrigin,
} from "./validate.ts";

/**
 * The default config: the tiny image + DNA + text demo model (configs/demo_tiny.yaml); a file path in a
 * local checkout, the http(s) URL when the library was imported from one (config files may be URLs).
 */
export const DEFAULT_CONFIG_PATH: string = bundledLocation(
  new URL("../../configs/demo_tiny.yaml", import.meta.url),
);

/** Where the resolved values came from. */
export interface ConfigSources {
  /** Config files in merge order (the root of the `extends` chain first). */
  files: string[];
  /** The `--set` overrides in the order applied. */
  overrides: string[];
  /** Dotted path -> file or `--set ...` for every value set explicitly (fields not listed are defaults). */
  fields: Record<string, string>;
}

/** A validated config and its provenance. */
export interface ResolvedConfig {
  /** The validated config, every default filled in. */
  config: RunConfig;
  /** Which file or override set each value. */
  sources: ConfigSources;
}

type Tree = Record<string, unknown>;

function recordOrigins(
  value: unknown,
  path: string,
  origin: ValueOrigin,
  origins: Map<string, ValueOrigin>,
): void {
  origins.set(path, origin);
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) recordOrigins(v, `${path}.${k}`, origin, origins);
  }
}

function dropOrigins(path: string, origins: Map<string, ValueOrigin>): void {
  for (const k of [...origins.keys()]) if (k === path || k.startsWith(path + ".")) origins.delete(k);
}

/** Deep-merges `child` into `base` in place, recording the origin of every value `child` sets. */
function mergeInto(
  base: Tree,
  child: Tree,
  prefix: string,
  origin: ValueOrigin,
  origins: Map<string, ValueOrigin>,
) {
  for (const [key, cv] of Object.entries(child)) {
    const path = prefix + key;
    const bv = base[key];
    if (isPlainObject(cv) && isPlainObject(bv)) {
      mergeInto(bv, cv, path + ".", origin, origins);
      if (!origins.has(path)) origins.set(path, origin);
    } else {
      base[key] = structuredClone(cv);
      dropOrigins(path, origins);
      recordOrigins(cv, path, origin, origins);
    }
  }
}

async function readYamlFile(file: string, from: string | null): Promise<Tree> {
  let text: string;
  try {
    text = await readTextLocation(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(`config file not found: ${file}${from ? ` (extended from ${from})` : ""}`);
    }
    throw new UserError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new UserError(`config file ${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw new UserError(`config file ${file}: the top level must be a mapping`);
  return doc;
}

/** Loads `file` and its `extends` chain into one raw tree, recording origins. */
async function loadTree(
  file: string,
  origins: Map<string, ValueOrigin>,
  files: string[],
  stack: string[] = [],
): Promise<Tree> {
  const remote = isRemote(file);
  const abs = remote ? file : resolve(file);
  if (stack.includes(abs)) {
    throw new UserError(`config: extends cycle: ${[...stack, abs].join(" -> ")}`);
  }
  const doc = await readYamlFile(file, stack.length ? stack[stack.length - 1] : null);
  let tree: Tree = {};
  const ext = doc.extends;
  if (ext !== undefined) {
    if (typeof ext !== "string" || ext === "") {
      throw new UserError(`config: extends: expected a path string, got ${JSON.stringify(ext)} (in ${file})`);
    }
    const parent = remote ? new URL(ext, abs).href : resolve(dirname(abs), ext);
    tree = await loadTree(parent, origins, files, [...stack, abs]);
  }
  const { extends: _drop, ...own } = doc;
  files.push(file);
  const baseDir = remote ? new URL(".", abs).href : dirname(abs);
  mergeInto(tree, own, "", { label: file, baseDir }, origins);
  return tree;
}

/** Splits `a.b=c` into path and value text. */
export function splitOverride(text: string): { path: string; value: string } {
  const eq = text.indexOf("=");
  const path = eq > 0 ? text.slice(0, eq).trim() : "";
  if (!path || !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(path)) {
    throw new UserError(`config: --set expects path=value with a dotted field path, got "${text}"`);
  }
  return { path, value: text.slice(eq + 1) };
}

/** Applies one `a.b=c` override to the raw tree, typed by the schema. */
function applyOverride(tree: Tree, text: string, origins: Map<string, ValueOrigin>): void {
  const { path, value } = splitOverride(text);
  const parsed = parseOverrideValue(path, value);
  const parts = path.split(".");
  let node = tree;
  for (let i = 0; i < parts.length - 1; i++) {
    const prefix = parts.slice(0, i + 1).join(".");
    const next = node[parts[i]];
    if (!isPlainObject(next)) {
      // Setting a field of a section that is absent (or removed): create it, so `--set image.hidden=64`
      // on an image-less config adds an image tower with defaults plus that field.
      if (specAt(prefix)?.kind !== "section") {
        throw new UserError(`config: ${prefix} is not a section (in --set ${text})`);
      }
      node[parts[i]] = {};
    }
    node = node[parts[i]] as Tree;
  }
  const origin = { label: `--set ${text}`, baseDir: Deno.cwd() };
  mergeInto(
    node,
    { [parts[parts.length - 1]]: parsed },
    parts.slice(0, -1).map((p) => p + ".").join(""),
    origin,
    origins,
  );
}

/**
 * Loads, merges, overrides and validates a run config.
 * @param pathOrDefault a YAML file, or null/undefined for {@link DEFAULT_CONFIG_PATH}
 * @param overrides `a.b=c` strings (from `--set`), applied in order
 * @throws UserError / ConfigError naming the field path and the file or override
 */
export async function resolveConfig(
  pathOrDefault?: string | null,
  overrides: readonly string[] = [],
): Promise<ResolvedConfig> {
  const file = pathOrDefault ?? DEFAULT_CONFIG_PATH;
  const origins = new Map<string, ValueOrigin>();
  const files: string[] = [];
  const tree = await loadTree(file, origins, files);
  for (const o of overrides) applyOverride(tree, o, origins);
  const config = validateRunConfig(tree, originLookup(origins));
  const fields: Record<string, string> = {};
  for (const [k, v] of origins) fields[k] = v.label;
  return { config, sources: { files, overrides: [...overrides], fields } };
}

/**
 * Serialises a resolved config as YAML that loads back to the same config (paths are already resolved,
 * so the file can live anywhere). A header comment records the sources.
 */
export function configToYaml(config: RunConfig, sources?: ConfigSources): string {
  const head = ["# Resolved CLIBD run config (all defaults filled in)."];
  if (sources) {
    head.push(`# files: ${sources.files.join(", ") || "(none)"}`);
    if (sources.overrides.length) head.push(`# overrides: ${sources.overrides.join(" ")}`);
  }
  return head.join("\n") + "\n" + stringifyYaml(config, { lineWidth: 0 });
}

/** Serialises a resolved config as pretty JSON. */
export function configToJson(config: RunConfig): string {
  return JSON.stringify(config, null, 2) + "\n";
}
