/**
 * Schema-driven validation of a merged raw config tree: fills defaults, checks types and bounds, rejects
 * unknown fields, and reports every problem with its dotted field path and the file (or `--set`) that set it.
 * Also parses `--set a.b=c` values according to the field's type, and checks cross-field consistency.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { UserError } from "../util/errors.ts";
import { isRemote } from "../util/location.ts";
import type { FieldSpec, RunConfig } from "./schema.ts";
import { RUN_CONFIG_SCHEMA } from "./schema.ts";

/** Where a value came from: a label for messages and the folder relative `path` fields resolve against. */
export interface ValueOrigin {
  /** A config file path, `--set a.b=c`, or `defaults`. */
  label: string;
  /** Folder for relative paths (the file's folder; the working directory for `--set` and defaults). */
  baseDir: string;
}

/** One validation problem. */
export interface ConfigIssue {
  /** Dotted field path, e.g. `image.hidden`. */
  path: string;
  message: string;
  /** Label of the value's origin. */
  source: string;
}

/** A config that failed validation; the message lists every issue, one per line. */
export class ConfigError extends UserError {
  /** The individual problems. */
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(
      issues.length === 1
        ? `config: ${fmtIssue(issues[0])}`
        : `config: ${issues.length} problems:\n` + issues.map((i) => `  ${fmtIssue(i)}`).join("\n"),
    );
    this.name = "ConfigError";
    this.issues = issues;
  }
}

function fmtIssue(i: ConfigIssue): string {
  return `${i.path}: ${i.message} (in ${i.source})`;
}

/** Finds the origin of a dotted path: the entry of its longest recorded prefix. */
export type OriginLookup = (path: string) => ValueOrigin;

const DEFAULT_ORIGIN: ValueOrigin = { label: "defaults", baseDir: "." };

/** Builds an {@link OriginLookup} from recorded origins (missing paths fall back to `defaults`). */
export function originLookup(origins: ReadonlyMap<string, ValueOrigin>): OriginLookup {
  return (path) => {
    const parts = path.split(".");
    for (let n = parts.length; n > 0; n--) {
      const o = origins.get(parts.slice(0, n).join("."));
      if (o) return o;
    }
    return DEFAULT_ORIGIN;
  };
}

/** True for a plain (YAML mapping) object. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) &&
    Object.getPrototypeOf(v) === Object.prototype;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list ${JSON.stringify(v)}`;
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

function suggestion(key: string, known: string[]): string {
  let best = "", bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(key, k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : "";
}

interface Ctx {
  origin: OriginLookup;
  issues: ConfigIssue[];
}

function issue(ctx: Ctx, path: string, message: string): void {
  ctx.issues.push({ path, message, source: ctx.origin(path).label });
}

function checkSection(
  fields: Readonly<Record<string, FieldSpec>>,
  raw: Record<string, unknown>,
  prefix: string,
  ctx: Ctx,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = Object.keys(fields);
  for (const key of Object.keys(raw)) {
    if (!(key in fields)) issue(ctx, prefix + key, `unknown field${suggestion(key, known)}`);
  }
  for (const key of known) out[key] = checkField(fields[key], raw[key], prefix + key, ctx);
  return out;
}

function checkNumber(spec: FieldSpec & { kind: "number" }, v: number, path: string, ctx: Ctx): boolean {
  const bad = (m: string) => (issue(ctx, path, m), false);
  if (!Number.isFinite(v)) return bad(`expected a finite number, got ${v}`);
  if (spec.int && !Number.isInteger(v)) return bad(`expected an integer, got ${v}`);
  if (spec.min !== undefined && v < spec.min) return bad(`must be >= ${spec.min}, got ${v}`);
  if (spec.gt !== undefined && !(v > spec.gt)) return bad(`must be > ${spec.gt}, got ${v}`);
  if (spec.max !== undefined && v > spec.max) return bad(`must be <= ${spec.max}, got ${v}`);
  if (spec.lt !== undefined && !(v < spec.lt)) return bad(`must be < ${spec.lt}, got ${v}`);
  return true;
}

function checkField(spec: FieldSpec, v: unknown, path: string, ctx: Ctx): unknown {
  if (spec.kind === "section") {
    if (v === undefined) return spec.optional ? null : checkSection(spec.fields, {}, path + ".", ctx);
    if (v === null) {
      if (spec.optional) return null;
      issue(ctx, path, "must be a mapping, got null (this section cannot be removed)");
      return null;
    }
    if (!isPlainObject(v)) {
      issue(ctx, path, `expected a mapping, got ${describe(v)}`);
      return null;
    }
    return checkSection(spec.fields, v, path + ".", ctx);
  }
  if (v === undefined) {
    if (spec.kind === "path" && spec.default !== null) return resolveConfigPath(spec.default, Deno.cwd());
    return structuredClone(spec.default);
  }
  if (v === null) {
    if (
      (spec.kind === "number" || spec.kind === "string" || spec.kind === "path" || spec.kind === "list") &&
      spec.nullable
    ) return null;
    issue(ctx, path, `must not be null (expected ${expected(spec)})`);
    return spec.default;
  }
  switch (spec.kind) {
    case "number":
      if (typeof v !== "number") break;
      return checkNumber(spec, v, path, ctx) ? v : spec.default;
    case "bool":
      if (typeof v !== "boolean") break;
      return v;
    case "string":
      if (typeof v !== "string") break;
      return v;
    case "path": {
      if (typeof v !== "string" || v === "") break;
      return resolveConfigPath(v, ctx.origin(path).baseDir);
    }
    case "enum":
      if (typeof v !== "string") break;
      if (!spec.values.includes(v)) {
        issue(ctx, path, `must be one of ${spec.values.join(" | ")}, got ${JSON.stringify(v)}`);
        return spec.default;
      }
      return v;
    case "list": {
      if (!Array.isArray(v)) break;
      if (spec.length !== undefined && v.length !== spec.length) {
        issue(ctx, path, `expected ${spec.length} items, got ${v.length}`);
        return spec.default;
      }
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (
          spec.item === "number"
            ? typeof item !== "number" || !Number.isFinite(item)
            : typeof item !== "string"
        ) {
          issue(ctx, `${path}[${i}]`, `expected a ${spec.item}, got ${describe(item)}`);
          return spec.default;
        }
        if (spec.values && !spec.values.includes(item as string)) {
          issue(
            ctx,
            `${path}[${i}]`,
            `must be one of ${spec.values.join(" | ")}, got ${JSON.stringify(item)}`,
          );
          return spec.default;
        }
      }
      return [...v];
    }
  }
  issue(ctx, path, `expected ${expected(spec)}, got ${describe(v)}`);
  return structuredClone(spec.default);
}

function expected(spec: FieldSpec): string {
  switch (spec.kind) {
    case "number":
      return spec.int ? "an integer" : "a number";
    case "bool":
      return "true or false";
    case "string":
      return "a string";
    case "path":
      return "a non-empty path string";
    case "enum":
      return `one of ${spec.values.join(" | ")}`;
    case "list":
      return `a list of ${spec.item}s`;
    case "section":
      return "a mapping";
  }
}

/**
 * Resolves a path written in a config to an absolute path: relative paths are taken relative to `baseDir`
 * (the folder of the file that set them, or the working directory). Absolute paths make the resolved config
 * mean the same thing wherever it is saved and reloaded. A config read from an http(s) URL resolves
 * relative paths against that URL.
 */
export function resolveConfigPath(p: string, baseDir: string): string {
  if (isAbsolute(p)) return p;
  return isRemote(baseDir) ? new URL(p, baseDir).href : resolve(baseDir, p);
}

/** Cross-field rules that single fields cannot express; issues blame the field named first. */
function checkConsistency(c: RunConfig, ctx: Ctx): void {
  const towers = [c.image, c.dna, c.language].filter((t) => t !== null).length;
  if (towers < 2) {
    issue(ctx, "image", `contrastive training needs at least two of image / dna / language, got ${towers}`);
  }
  if (c.image) {
    const v = c.image;
    if (v.image_size !== c.data.image_crop) {
      issue(ctx, "image.image_size", `${v.image_size} differs from data.image_crop ${c.data.image_crop}`);
    }
    if (v.image_size % v.patch_size !== 0) {
      issue(ctx, "image.patch_size", `${v.patch_size} does not divide image.image_size ${v.image_size}`);
    }
    if (v.hidden % v.heads !== 0) {
      issue(ctx, "image.heads", `${v.heads} does not divide image.hidden ${v.hidden}`);
    }
    if (c.data.image_resize < c.data.image_crop) {
      issue(
        ctx,
        "data.image_resize",
        `${c.data.image_resize} is smaller than data.image_crop ${c.data.image_crop}`,
      );
    }
  }
  for (const name of ["dna", "language"] as const) {
    const t = c[name];
    if (!t) continue;
    if (t.hidden % t.heads !== 0) {
      issue(ctx, `${name}.heads`, `${t.heads} does not divide ${name}.hidden ${t.hidden}`);
    }
    const seq = name === "dna" ? 1 + Math.floor(c.data.dna_max_len / c.data.dna_k) : c.data.text_max_len;
    if (seq > t.max_positions) {
      issue(ctx, `${name}.max_positions`, `${t.max_positions} is less than the ${seq} tokens per sequence`);
    }
  }
  if (c.data.dna_max_len < c.data.dna_k) {
    issue(ctx, "data.dna_max_len", `${c.data.dna_max_len} is shorter than data.dna_k ${c.data.dna_k}`);
  }
  const batch = c.contrastive_batch ?? c.batch_size * c.world_size_equivalent;
  if (c.chunk_size !== null && c.chunk_size > batch) {
    issue(ctx, "chunk_size", `${c.chunk_size} exceeds the contrastive batch ${batch}`);
  }
  if (c.image?.mean && !c.image.std) {
    issue(ctx, "image.std", "image.mean is set, so image.std must be set too");
  }
  if (c.image?.std?.some((s) => s <= 0)) issue(ctx, "image.std", "every std must be > 0");
}

/**
 * Validates a merged raw tree against {@link RUN_CONFIG_SCHEMA}.
 * @throws ConfigError listing every issue with its field path and source
 */
export function validateRunConfig(raw: unknown, origin: OriginLookup): RunConfig {
  const ctx: Ctx = { origin, issues: [] };
  if (!isPlainObject(raw)) {
    issue(ctx, "<root>", `expected a mapping, got ${describe(raw)}`);
    throw new ConfigError(ctx.issues);
  }
  const cfg = checkSection(RUN_CONFIG_SCHEMA, raw, "", ctx) as unknown as RunConfig;
  if (ctx.issues.length === 0) checkConsistency(cfg, ctx);
  if (ctx.issues.length > 0) throw new ConfigError(ctx.issues);
  return cfg;
}

/** The schema entry at a dotted path, or undefined. */
export function specAt(path: string): FieldSpec | undefined {
  let fields: Readonly<Record<string, FieldSpec>> = RUN_CONFIG_SCHEMA;
  const parts = path.split(".");
  for (let i = 0; i < parts.length; i++) {
    const s = fields[parts[i]];
    if (!s) return undefined;
    if (i === parts.length - 1) return s;
    if (s.kind !== "section") return undefined;
    fields = s.fields;
  }
  return undefined;
}

/**
 * Parses the text of `--set path=text` according to the field's type: numbers (`1e-4`), booleans
 * (`true`/`false`), strings and paths as written, lists as `a,b,c` or `[a, b]`, `null` for nullable fields
 * and removable sections, and `{...}` (YAML flow mapping) for sections. Type errors are reported later by
 * {@link validateRunConfig}, which names the override as the source.
 * @throws UserError for an unknown field path
 */
export function parseOverrideValue(path: string, text: string): unknown {
  const spec = specAt(path);
  if (!spec) {
    const parent = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    const ps = parent ? specAt(parent) : undefined;
    const known = parent
      ? (ps?.kind === "section" ? Object.keys(ps.fields) : [])
      : Object.keys(RUN_CONFIG_SCHEMA);
    const last = path.slice(path.lastIndexOf(".") + 1);
    throw new UserError(
      `config: ${path}: unknown field${suggestion(last, known)} (in --set ${path}=${text})`,
    );
  }
  const t = text.trim();
  const nullable = spec.kind === "section" ? spec.optional : "nullable" in spec && spec.nullable;
  if (t === "null" && nullable) return null;
  switch (spec.kind) {
    case "number": {
      const n = Number(t);
      return t !== "" && Number.isFinite(n) ? n : text;
    }
    case "bool":
      return t === "true" ? true : t === "false" ? false : text;
    case "string":
    case "path":
    case "enum":
      return text;
    case "list": {
      let items: unknown[];
      if (t.startsWith("[")) {
        const y = parseYamlOrText(t);
        if (!Array.isArray(y)) return text;
        items = y;
      } else {
        items = t === "" ? [] : t.split(",").map((s) => s.trim());
      }
      return spec.item === "number"
        ? items.map((x) => (typeof x === "string" && x !== "" && Number.isFinite(Number(x)) ? Number(x) : x))
        : items.map((x) => (typeof x === "number" ? String(x) : x));
    }
    case "section":
      return parseYamlOrText(t);
  }
}

function parseYamlOrText(t: string): unknown {
  try {
    return parseYaml(t);
  } catch {
    return t;
  }
}
