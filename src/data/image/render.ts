/**
 * Synthetic specimen photos for the demo dataset: an insect-like figure drawn from its taxonomy,
 * on a light background like the BIOSCAN photos, with no external assets.
 *
 * What each level controls (so that retrieval is learnable but not trivial):
 * - order: the body plan (wings, legs, segments, antennae, waist, tails), see `PLANS`;
 * - family: the palette (body, accent and wing colours);
 * - genus: the marking pattern (bands, stripes, spots, eyespots or none), its frequency, and
 *   proportions (+-20%);
 * - species: finer proportions (+-5%), marking phase/positions and shade;
 * - specimen: pose (rotation, leg/wing/antenna angles), scale, position, background, lighting
 *   gradient and pixel noise.
 * Everything derives from FNV-1a hashes of the names and the specimen seed, so it is deterministic.
 * @module
 */
import type { Taxonomy } from "../taxonomy.ts";
import { Rng } from "../../util/rng.ts";
import {
  type Canvas,
  drawShapes,
  hsl,
  mirror,
  type Paint,
  type Rgb,
  type Shape,
  shapeCentre,
  smoothstep,
} from "./raster.ts";

/** 32-bit FNV-1a hash of a string (stable seeds from taxon names). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

type WingKind =
  | "none"
  | "diptera"
  | "lepidoptera"
  | "hymenoptera"
  | "elytra"
  | "hemiptera"
  | "odonata"
  | "mayfly";
type AntennaKind = "none" | "short" | "long" | "clubbed" | "elbowed";

/** An order's body plan, in figure units (body length about 1). */
interface Plan {
  headR: number;
  thoraxL: number;
  thoraxW: number;
  abdL: number;
  abdW: number;
  /** Gap between thorax and abdomen bridged by a thin petiole (wasps, spiders). */
  waist: number;
  legPairs: number;
  legLen: number;
  legR: number;
  /** Legs attach along the thorax (false) or along the whole body (millipedes). */
  legsAlongBody: boolean;
  antenna: AntennaKind;
  antLen: number;
  wings: WingKind;
  /** Visible transverse segment lines on the abdomen. */
  segments: number;
  /** Tail filaments (cerci), e.g. mayflies. */
  tails: number;
  /** Round shell instead of an abdomen (snails). */
  shell: boolean;
}

const BASE: Plan = {
  headR: 0.1,
  thoraxL: 0.26,
  thoraxW: 0.12,
  abdL: 0.5,
  abdW: 0.13,
  waist: 0,
  legPairs: 3,
  legLen: 0.45,
  legR: 0.012,
  legsAlongBody: false,
  antenna: "short",
  antLen: 0.2,
  wings: "none",
  segments: 5,
  tails: 0,
  shell: false,
};

/** Body plans of the orders in the demo data; other orders get a hash-chosen variant of these. */
const PLANS: Record<string, Partial<Plan>> = {
  Diptera: {
    headR: 0.12,
    thoraxL: 0.28,
    thoraxW: 0.15,
    abdL: 0.42,
    abdW: 0.14,
    wings: "diptera",
    antLen: 0.08,
  },
  Lepidoptera: {
    headR: 0.07,
    thoraxW: 0.09,
    abdL: 0.48,
    abdW: 0.075,
    wings: "lepidoptera",
    antenna: "clubbed",
    antLen: 0.4,
    legLen: 0.3,
  },
  Araneae: {
    headR: 0.05,
    thoraxL: 0.3,
    thoraxW: 0.2,
    abdL: 0.46,
    abdW: 0.24,
    waist: 0.03,
    legPairs: 4,
    legLen: 0.75,
    legR: 0.016,
    antenna: "none",
    segments: 0,
  },
  Hymenoptera: {
    headR: 0.1,
    thoraxL: 0.25,
    thoraxW: 0.11,
    abdL: 0.45,
    abdW: 0.13,
    waist: 0.09,
    wings: "hymenoptera",
    antenna: "elbowed",
    antLen: 0.32,
  },
  Coleoptera: {
    headR: 0.09,
    thoraxL: 0.2,
    thoraxW: 0.17,
    abdL: 0.56,
    abdW: 0.2,
    wings: "elytra",
    antLen: 0.22,
    legR: 0.016,
    segments: 0,
  },
  Hemiptera: {
    headR: 0.08,
    thoraxL: 0.22,
    thoraxW: 0.17,
    abdL: 0.5,
    abdW: 0.19,
    wings: "hemiptera",
    antenna: "long",
    antLen: 0.3,
    segments: 0,
  },
  Odonata: {
    headR: 0.11,
    thoraxL: 0.24,
    thoraxW: 0.12,
    abdL: 0.95,
    abdW: 0.045,
    wings: "odonata",
    antLen: 0.04,
    segments: 9,
  },
  Ephemeroptera: { abdL: 0.55, abdW: 0.09, wings: "mayfly", tails: 2, antLen: 0.06, segments: 8 },
  Plecoptera: { abdL: 0.5, abdW: 0.1, wings: "hymenoptera", antenna: "long", antLen: 0.45, tails: 2 },
  Julida: {
    headR: 0.06,
    thoraxL: 0.1,
    thoraxW: 0.07,
    abdL: 1.3,
    abdW: 0.065,
    legPairs: 26,
    legLen: 0.09,
    legR: 0.007,
    legsAlongBody: true,
    antLen: 0.1,
    segments: 24,
  },
  Stylommatophora: {
    headR: 0.07,
    thoraxL: 0.45,
    thoraxW: 0.14,
    abdL: 0.42,
    abdW: 0.24,
    legPairs: 0,
    antenna: "long",
    antLen: 0.16,
    shell: true,
    segments: 0,
  },
  Entomobryomorpha: {
    headR: 0.1,
    thoraxL: 0.22,
    thoraxW: 0.1,
    abdL: 0.5,
    abdW: 0.1,
    antenna: "long",
    antLen: 0.5,
    legLen: 0.3,
    segments: 6,
  },
  Sarcoptiformes: {
    headR: 0.05,
    thoraxL: 0.2,
    thoraxW: 0.22,
    abdL: 0.35,
    abdW: 0.28,
    legPairs: 4,
    legLen: 0.28,
    antenna: "none",
    segments: 0,
  },
  Thysanoptera: { abdL: 0.6, abdW: 0.08, thoraxW: 0.09, wings: "hymenoptera", antLen: 0.16, segments: 8 },
  Psocodea: { headR: 0.14, abdL: 0.42, abdW: 0.17, wings: "hemiptera", antenna: "long", antLen: 0.5 },
  Dermaptera: {
    abdL: 0.62,
    abdW: 0.11,
    wings: "elytra",
    tails: 2,
    antenna: "long",
    antLen: 0.3,
    segments: 6,
  },
};

const GENERIC = Object.keys(PLANS);

function planFor(order: string): Plan {
  const own = PLANS[order];
  if (own) return { ...BASE, ...own };
  // Unknown order: a stable choice among the known plans, so every order still has one body plan.
  return { ...BASE, ...PLANS[GENERIC[fnv1a(order) % GENERIC.length]] };
}

type Pattern = (u: number, v: number) => number;

/** Genus marking pattern; species shifts its phase and spot positions. */
function makePattern(genusRng: Rng, speciesRng: Rng): { body: Pattern; wing: Pattern } {
  const kind = genusRng.int(5); // 0 none, 1 bands, 2 stripes, 3 spots, 4 eyespots
  const freq = 2 + genusRng.int(4);
  const width = genusRng.uniform(0.25, 0.55);
  const phase = genusRng.uniform(0, 1) + speciesRng.uniform(-0.12, 0.12);
  const spots: [number, number, number][] = [];
  const nSpots = 2 + genusRng.int(3);
  for (let i = 0; i < nSpots; i++) {
    // Genus fixes the layout, species jitters it.
    spots.push([
      genusRng.uniform(-0.6, 0.6) + speciesRng.uniform(-0.12, 0.12),
      genusRng.uniform(-0.7, 0.7) + speciesRng.uniform(-0.12, 0.12),
      genusRng.uniform(0.12, 0.28) * speciesRng.uniform(0.8, 1.2),
    ]);
  }
  const soft = 0.06;
  const band = (t: number) => {
    const f = ((t * freq + phase) % 1 + 1) % 1;
    return smoothstep(0, soft, f) * (1 - smoothstep(width - soft, width, f));
  };
  const spot = (u: number, v: number, ring: boolean) => {
    let w = 0;
    for (const [su, sv, r] of spots) {
      const d = Math.hypot(u - su, v - sv);
      const s = 1 - smoothstep(r - soft, r, d);
      w = Math.max(w, ring ? s * (0.3 + 0.7 * smoothstep(r * 0.35, r * 0.55, d)) : s);
    }
    return w;
  };
  const bodies: Pattern[] = [
    () => 0,
    (_u, v) => band(v * 0.5 + 0.5),
    (u) => band(Math.abs(u) * 0.9),
    (u, v) => spot(Math.abs(u), v, false),
    (u, v) => spot(Math.abs(u), v, false),
  ];
  const wings: Pattern[] = [
    () => 0,
    (u) => band(u * 0.5 + 0.5),
    (_u, v) => band(v * 0.5 + 0.5),
    (u, v) => spot(u, v, false),
    (u, v) => spot(u, v, true),
  ];
  return { body: bodies[kind], wing: wings[kind] };
}

/** Family palette: body, accent (markings) and wing colours. */
function makePalette(rng: Rng, speciesRng: Rng): { body: Rgb; accent: Rgb; wing: Rgb; wingMem: Rgb } {
  // Mostly browns, blacks and ochres like real specimens, sometimes green/blue/red.
  const hue = rng.next() < 0.7 ? rng.uniform(15, 55) : rng.uniform(0, 360);
  const dl = speciesRng.uniform(-0.03, 0.03);
  const body = hsl(hue, rng.uniform(0.2, 0.65), rng.uniform(0.14, 0.42) + dl);
  const ah = (hue + rng.uniform(-60, 60) + (rng.next() < 0.4 ? 180 : 0) + 360) % 360;
  const accent = hsl(ah, rng.uniform(0.4, 0.9), rng.uniform(0.55, 0.8));
  const wing = hsl(
    (hue + rng.uniform(-40, 40) + 360) % 360,
    rng.uniform(0.3, 0.8),
    rng.uniform(0.35, 0.65) + dl,
  );
  const wingMem = hsl(rng.uniform(20, 220), rng.uniform(0, 0.25), rng.uniform(0.55, 0.8));
  return { body, accent, wing, wingMem };
}

/** Builds the figure (figure units, head toward -y) for one specimen. */
function buildFigure(tax: Taxonomy, pose: Rng): Shape[] {
  const P = planFor(tax.order);
  const fam = new Rng(fnv1a(`${tax.order}/${tax.family}`));
  const gen = new Rng(fnv1a(`${tax.order}/${tax.family}/${tax.genus}`));
  const sp = new Rng(fnv1a(`${tax.order}/${tax.family}/${tax.genus}/${tax.species}`));
  // Proportions: a genus factor (+-20%) times a smaller species factor (+-5%), so congeneric
  // species stay closer to each other than to other genera. Drawn first, before any other draws.
  const k = (lo: number, hi: number) => gen.uniform(lo, hi) * sp.uniform(0.95, 1.05);
  const abdL = P.abdL * k(0.8, 1.2), abdW = P.abdW * k(0.8, 1.2);
  const wingK = k(0.85, 1.15), legK = k(0.8, 1.2), antK = k(0.75, 1.25);
  const headR = P.headR * k(0.88, 1.12), thoraxW = P.thoraxW * k(0.88, 1.12);
  const pal = makePalette(fam, sp);
  const pat = makePattern(gen, sp);

  const shapes: Shape[] = [];
  const back: Shape[] = [], front: Shape[] = [];
  const solid = (color: Rgb, extra: Partial<Paint> = {}): Paint => ({
    color,
    alpha: 1,
    shade: 0.35,
    ...extra,
  });
  const legPaint = solid(pal.body.map((c) => c * 0.75) as Rgb, { shade: 0.2 });
  const thY = 0, headY = -(P.thoraxL / 2 + headR * 0.75);
  const abdY = P.thoraxL / 2 + P.waist + abdL / 2 - 0.02;
  const both = (s: Shape, list: Shape[]) => list.push(s, mirror(s));

  // Legs: pairs along the thorax (or body), femur outward then tibia bent back, each posed per specimen.
  if (P.legPairs > 0) {
    const y0 = P.legsAlongBody ? headY + 0.05 : thY - P.thoraxL * 0.3;
    const y1 = P.legsAlongBody ? abdY + abdL / 2 - 0.04 : thY + P.thoraxL * 0.35;
    for (let i = 0; i < P.legPairs; i++) {
      const t = P.legPairs === 1 ? 0.5 : i / (P.legPairs - 1);
      const ay = y0 + (y1 - y0) * t;
      for (const side of [1, -1]) {
        // Front legs point forward, hind legs back; the pose varies every joint a little.
        const base = (-0.9 + 1.8 * t) * (P.legsAlongBody ? 0.3 : 1) + pose.uniform(-0.25, 0.25);
        const bend = (P.legsAlongBody ? 0.2 : 0.7) * Math.sign(base || 1) + pose.uniform(-0.2, 0.2);
        const L = P.legLen * legK * (0.8 + 0.4 * Math.abs(t - 0.5));
        const ax = side * (P.legsAlongBody ? abdW * 0.8 : thoraxW * 0.6);
        const kx = ax + side * Math.cos(base) * L * 0.45, ky = ay + Math.sin(base) * L * 0.45;
        const fx = kx + side * Math.cos(base + bend) * L * 0.55, fy = ky + Math.sin(base + bend) * L * 0.55;
        shapes.push({ kind: "capsule", ax, ay, bx: kx, by: ky, r: P.legR * 1.2, paint: legPaint });
        shapes.push({ kind: "capsule", ax: kx, ay: ky, bx: fx, by: fy, r: P.legR, paint: legPaint });
      }
    }
  }
  // Antennae from the front of the head.
  if (P.antenna !== "none") {
    const L = P.antLen * antK;
    const a = pose.uniform(0.25, 0.6), hx = headR * 0.4, hy = headY - headR * 0.8;
    const tx = hx + Math.sin(a) * L, ty = hy - Math.cos(a) * L;
    const ant: Paint = solid(pal.body, { shade: 0 });
    if (P.antenna === "elbowed") {
      const mx = hx + Math.sin(a * 0.4) * L * 0.4, my = hy - Math.cos(a * 0.4) * L * 0.4;
      both({ kind: "capsule", ax: hx, ay: hy, bx: mx, by: my, r: 0.008, paint: ant }, shapes);
      both({
        kind: "capsule",
        ax: mx,
        ay: my,
        bx: mx + Math.sin(a * 2.2) * L * 0.6,
        by: my - Math.cos(a * 2.2) * L * 0.6,
        r: 0.007,
        paint: ant,
      }, shapes);
    } else {
      both({
        kind: "capsule",
        ax: hx,
        ay: hy,
        bx: tx,
        by: ty,
        r: P.antenna === "short" ? 0.012 : 0.007,
        paint: ant,
      }, shapes);
      if (P.antenna === "clubbed") {
        both({ kind: "ellipse", cx: tx, cy: ty, rx: 0.018, ry: 0.03, rot: a, paint: ant }, shapes);
      }
    }
  }
  // Tail filaments.
  for (let i = 0; i < P.tails; i++) {
    const a = 0.15 + 0.25 * i + pose.uniform(-0.1, 0.1), ty = abdY + abdL / 2 - 0.02;
    both({
      kind: "capsule",
      ax: 0.01,
      ay: ty,
      bx: Math.sin(a) * 0.35,
      by: ty + Math.cos(a) * 0.35,
      r: 0.005,
      paint: legPaint,
    }, shapes);
  }

  // Wings: attached at the thorax, spread angle posed per specimen.
  const spread = pose.uniform(-0.12, 0.12);
  const wing = (list: Shape[], y: number, ang: number, len: number, wid: number, paint: Paint) => {
    const a = ang + spread, L = len * wingK;
    // The wing ellipse starts at the thorax edge and points along angle a (0 = sideways).
    const cx = thoraxW * 0.3 + Math.cos(a) * L / 2, cy = y + Math.sin(a) * L / 2;
    both(
      { kind: "ellipse", cx, cy, rx: L / 2, ry: wid * wingK, rot: a + Math.PI / 2, paint: { ...paint } },
      list,
    );
    // Ellipse rot is measured for (rx across, ry along); swap so rx lies along the wing.
    const last = list.length;
    for (const s of [list[last - 2], list[last - 1]]) {
      if (s.kind === "ellipse") {
        const t = s.rx;
        s.rx = s.ry;
        s.ry = t;
      }
    }
    if (paint.alpha < 1) {
      // A vein along the wing, slightly inside the membrane.
      const vx = thoraxW * 0.3 + Math.cos(a) * L * 0.85, vy = y + Math.sin(a) * L * 0.85;
      both({
        kind: "capsule",
        ax: thoraxW * 0.3,
        ay: y,
        bx: vx,
        by: vy,
        r: 0.004,
        paint: { color: pal.body, alpha: 0.5 },
      }, list);
    }
  };
  const mem: Paint = {
    color: pal.wingMem,
    alpha: 0.38,
    shade: 0,
    pattern: (u, v) => 0.25 * pat.wing(u, v),
    patternColor: pal.body,
  };
  const wingPaint: Paint = {
    color: pal.wing,
    alpha: 1,
    shade: 0.25,
    pattern: pat.wing,
    patternColor: pal.accent,
  };
  switch (P.wings) {
    case "diptera":
      wing(front, thY - 0.02, 0.55, 0.55, 0.1, mem);
      break;
    case "hymenoptera":
      wing(front, thY - 0.04, 0.35, 0.55, 0.08, mem);
      wing(front, thY + 0.04, 0.6, 0.4, 0.06, mem);
      break;
    case "odonata":
      wing(front, thY - 0.05, -0.05, 0.75, 0.07, mem);
      wing(front, thY + 0.05, 0.2, 0.72, 0.08, mem);
      break;
    case "mayfly":
      wing(front, thY - 0.02, -0.15, 0.55, 0.14, mem);
      break;
    case "lepidoptera":
      wing(back, thY - 0.03, -0.45, 0.62, 0.24, wingPaint);
      wing(back, thY + 0.06, 0.45, 0.45, 0.2, { ...wingPaint, color: pal.wing.map((c) => c * 0.9) as Rgb });
      break;
    case "hemiptera": {
      // Hard basal halves meeting in a shield over the abdomen, membranous tips overlapping.
      const hard = solid(pal.wing, { pattern: pat.body, patternColor: pal.accent, shade: 0.3 });
      front.push({
        kind: "ellipse",
        cx: 0.06,
        cy: abdY - abdL * 0.1,
        rx: abdW * 0.55,
        ry: abdL * 0.42,
        rot: -0.12,
        paint: hard,
      });
      front.push({
        kind: "ellipse",
        cx: -0.06,
        cy: abdY - abdL * 0.1,
        rx: abdW * 0.55,
        ry: abdL * 0.42,
        rot: 0.12,
        paint: hard,
      });
      front.push({
        kind: "ellipse",
        cx: 0,
        cy: abdY + abdL * 0.33,
        rx: abdW * 0.8,
        ry: abdL * 0.2,
        rot: 0,
        paint: mem,
      });
      break;
    }
    case "elytra": {
      const ely = solid(pal.body, { gloss: 0.35, pattern: pat.body, patternColor: pal.accent, shade: 0.45 });
      both(
        { kind: "ellipse", cx: abdW * 0.5, cy: abdY, rx: abdW * 0.52, ry: abdL * 0.5, rot: 0, paint: ely },
        front,
      );
      front.push({
        kind: "capsule",
        ax: 0,
        ay: abdY - abdL * 0.48,
        bx: 0,
        by: abdY + abdL * 0.48,
        r: 0.004,
        paint: { color: [0.05, 0.04, 0.03], alpha: 0.6 },
      });
      break;
    }
    default:
      break;
  }

  shapes.push(...back);
  // Body: abdomen (or shell), petiole, thorax, head, eyes.
  const abdPaint = solid(pal.body, {
    pattern: (u, v) =>
      Math.max(
        pat.body(u, v),
        P.segments
          ? 0.45 * (1 - smoothstep(0.0, 0.12, Math.abs(((v * 0.5 + 0.5) * P.segments) % 1 - 0.5) * 2 - 0.8))
          : 0,
      ),
    patternColor: pal.accent,
  });
  if (P.shell) {
    const shell = solid(pal.wing, {
      gloss: 0.25,
      pattern: (u, v) => band01(Math.hypot(u, v) * 3.2 + Math.atan2(v, u) / (2 * Math.PI)),
      patternColor: pal.accent,
    });
    shapes.push({
      kind: "ellipse",
      cx: 0,
      cy: 0.05,
      rx: thoraxW,
      ry: P.thoraxL / 2 + 0.15,
      rot: 0,
      paint: solid(pal.body),
    });
    shapes.push({
      kind: "ellipse",
      cx: 0.04,
      cy: abdY - abdL * 0.3,
      rx: abdW,
      ry: abdW * 0.95,
      rot: 0,
      paint: shell,
    });
  } else {
    if (P.waist > 0) {
      shapes.push({
        kind: "capsule",
        ax: 0,
        ay: P.thoraxL / 2 - 0.02,
        bx: 0,
        by: abdY - abdL / 2 + 0.02,
        r: 0.018,
        paint: solid(pal.body),
      });
    }
    shapes.push({ kind: "ellipse", cx: 0, cy: abdY, rx: abdW, ry: abdL / 2, rot: 0, paint: abdPaint });
    shapes.push({
      kind: "ellipse",
      cx: 0,
      cy: thY,
      rx: thoraxW,
      ry: P.thoraxL / 2,
      rot: 0,
      paint: solid(pal.body, { gloss: 0.15 }),
    });
  }
  shapes.push({
    kind: "ellipse",
    cx: 0,
    cy: headY,
    rx: headR,
    ry: headR * 0.85,
    rot: 0,
    paint: solid(pal.body),
  });
  if (P.antenna !== "none" || P.wings !== "none") {
    const eye = solid([0.12, 0.06, 0.05], { gloss: 0.4 });
    const er = headR * (P.wings === "diptera" || P.wings === "odonata" ? 0.55 : 0.35);
    both({
      kind: "ellipse",
      cx: headR * 0.6,
      cy: headY - headR * 0.1,
      rx: er * 0.8,
      ry: er,
      rot: 0.3,
      paint: eye,
    }, shapes);
  }
  shapes.push(...front);
  return shapes;
}

function band01(t: number): number {
  const f = ((t % 1) + 1) % 1;
  return smoothstep(0.0, 0.08, f) * (1 - smoothstep(0.45, 0.53, f));
}

/**
 * Renders one specimen photo: `size x size` interleaved RGB (HWC) bytes.
 * @param tax order/family/genus/species names (any strings; unknown orders get a stable plan)
 * @param specimenSeed per-specimen seed: pose, scale, position, lighting, noise (unique per specimen)
 * @param size output side in pixels
 */
export function renderSpecimen(tax: Taxonomy, specimenSeed: number, size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 8) {
    throw new Error(`renderSpecimen: size must be an integer >= 8, got ${size}`);
  }
  // The pose stream depends on the specimen seed only: two taxa rendered with the same seed share
  // pose, background and noise, so a dataset must give every specimen its own seed.
  const pose = new Rng(fnv1a(`specimen:${specimenSeed}`));
  const shapes = buildFigure(tax, pose);
  // Fit the figure: radius of its extent, then a random scale, rotation and position that keep it inside.
  let R = 0;
  for (const s of shapes) {
    const [cx, cy, r] = shapeCentre(s);
    R = Math.max(R, Math.hypot(cx, cy) + r);
  }
  const scale = (size * 0.47 * pose.uniform(0.72, 1)) / R;
  const slack = Math.max(0, size / 2 - R * scale);
  const at = {
    tx: size / 2 + pose.uniform(-1, 1) * slack,
    ty: size / 2 + pose.uniform(-1, 1) * slack,
    scale,
    angle: pose.uniform(0, 2 * Math.PI),
  };
  // Light background (BIOSCAN trays are near white/cream), a lighting gradient, then noise.
  const bg = pose.uniform(0.84, 0.95), tint = pose.uniform(-0.025, 0.025);
  const canvas: Canvas = { size, data: new Float32Array(size * size * 3) };
  for (let p = 0; p < size * size; p++) {
    canvas.data[3 * p] = bg + tint;
    canvas.data[3 * p + 1] = bg;
    canvas.data[3 * p + 2] = bg - tint;
  }
  drawShapes(canvas, shapes, at);
  const la = pose.uniform(0, 2 * Math.PI), ls = pose.uniform(0.04, 0.16), noise = pose.uniform(0.006, 0.02);
  const lx = Math.cos(la) / size, ly = Math.sin(la) / size;
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const light = 1 + ls * ((x - size / 2) * lx + (y - size / 2) * ly) * 2;
      for (let c = 0; c < 3; c++) {
        const o = (y * size + x) * 3 + c;
        const v = canvas.data[o] * light + noise * pose.normal();
        out[o] = Math.min(255, Math.max(0, Math.round(v * 255)));
      }
    }
  }
  return out;
}
