/**
 * A tiny antialiased vector rasteriser for the synthetic specimen renderer: ellipses and capsules
 * (line segments with a radius) in a local figure frame, placed on the canvas by a similarity
 * transform, composited with coverage from their signed distance (no supersampling needed).
 * @module
 */

/** RGB in [0, 1]. */
export type Rgb = [number, number, number];

/** How a shape is coloured at normalised shape coordinates (u, v) in about [-1, 1]. */
export interface Paint {
  /** Base colour. */
  color: Rgb;
  /** Opacity in [0, 1] (membranous wings are translucent). */
  alpha: number;
  /** Darkening toward the rim (0 = flat), gives a rounded, lit look. */
  shade?: number;
  /** Strength of a specular highlight near (-0.35, -0.35) (hard, glossy cuticle). */
  gloss?: number;
  /** Optional marking weight (0..1) at (u, v); blends the colour toward `patternColor`. */
  pattern?: (u: number, v: number) => number;
  /** Colour of the marking. */
  patternColor?: Rgb;
}

/** Ellipse centred at (cx, cy) with semi-axes rx (across), ry (along), rotated by `rot` radians. */
export interface Ellipse {
  kind: "ellipse";
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  rot: number;
  paint: Paint;
}

/** Segment a-b thickened by radius r (legs, antennae, veins). u runs 0..1 along it. */
export interface Capsule {
  kind: "capsule";
  ax: number;
  ay: number;
  bx: number;
  by: number;
  r: number;
  paint: Paint;
}

/** A drawable primitive in figure coordinates. */
export type Shape = Ellipse | Capsule;

/** Figure-to-canvas similarity: pixel = (tx, ty) + scale * R(angle) * local. */
export interface Placement {
  tx: number;
  ty: number;
  scale: number;
  angle: number;
}

/** A float RGB canvas (HWC, values in [0, 1]). */
export interface Canvas {
  size: number;
  data: Float32Array;
}

/** Radius around the shape's centre that contains it (figure units). */
export function shapeCentre(s: Shape): [number, number, number] {
  if (s.kind === "ellipse") return [s.cx, s.cy, Math.max(s.rx, s.ry)];
  const cx = (s.ax + s.bx) / 2, cy = (s.ay + s.by) / 2;
  return [cx, cy, Math.hypot(s.bx - s.ax, s.by - s.ay) / 2 + s.r];
}

/** Mirror image across the body axis (x -> -x), for bilateral symmetry. */
export function mirror(s: Shape): Shape {
  if (s.kind === "ellipse") return { ...s, cx: -s.cx, rot: -s.rot };
  return { ...s, ax: -s.ax, bx: -s.bx };
}

const scratch = { d: 0, u: 0, v: 0 };

/** Signed distance (figure units, approximate for ellipses) and shape coordinates of a point. */
function evalShape(s: Shape, x: number, y: number): void {
  if (s.kind === "ellipse") {
    const c = Math.cos(s.rot), sn = Math.sin(s.rot);
    const dx = x - s.cx, dy = y - s.cy;
    const px = c * dx + sn * dy, py = -sn * dx + c * dy;
    const u = px / s.rx, v = py / s.ry;
    const k0 = Math.hypot(u, v), k1 = Math.hypot(px / (s.rx * s.rx), py / (s.ry * s.ry));
    // Inigo Quilez's first-order ellipse distance: exact on the rim, good enough near it.
    scratch.d = k1 > 1e-12 ? (k0 * (k0 - 1)) / k1 : -Math.min(s.rx, s.ry);
    scratch.u = u;
    scratch.v = v;
    return;
  }
  const ex = s.bx - s.ax, ey = s.by - s.ay;
  const len2 = ex * ex + ey * ey;
  const t = len2 > 0 ? Math.min(1, Math.max(0, ((x - s.ax) * ex + (y - s.ay) * ey) / len2)) : 0;
  const qx = x - s.ax - t * ex, qy = y - s.ay - t * ey;
  const dist = Math.hypot(qx, qy);
  scratch.d = dist - s.r;
  scratch.u = t;
  scratch.v = dist / s.r;
}

/** Draws shapes in order onto the canvas with coverage antialiasing and alpha blending. */
export function drawShapes(canvas: Canvas, shapes: readonly Shape[], at: Placement): void {
  const { size, data } = canvas;
  const c = Math.cos(at.angle), s = Math.sin(at.angle);
  const inv = 1 / at.scale;
  for (const sh of shapes) {
    const [lx, ly, rad] = shapeCentre(sh);
    const px = at.tx + at.scale * (c * lx - s * ly), py = at.ty + at.scale * (s * lx + c * ly);
    const pr = rad * at.scale + 1.5;
    const x0 = Math.max(0, Math.floor(px - pr)), x1 = Math.min(size - 1, Math.ceil(px + pr));
    const y0 = Math.max(0, Math.floor(py - pr)), y1 = Math.min(size - 1, Math.ceil(py + pr));
    const p = sh.paint;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        // Pixel centre back to figure coordinates (inverse rotation and scale).
        const dx = x + 0.5 - at.tx, dy = y + 0.5 - at.ty;
        const fx = (c * dx + s * dy) * inv, fy = (-s * dx + c * dy) * inv;
        evalShape(sh, fx, fy);
        const cov = Math.min(1, Math.max(0, 0.5 - scratch.d * at.scale));
        if (cov <= 0) continue;
        const a = cov * p.alpha;
        const u = scratch.u, v = scratch.v;
        const r2 = sh.kind === "ellipse" ? u * u + v * v : v * v;
        let k = 1 - (p.shade ?? 0) * r2 * r2;
        let r = p.color[0], g = p.color[1], b = p.color[2];
        if (p.pattern && p.patternColor) {
          const w = p.pattern(u, v);
          r += (p.patternColor[0] - r) * w;
          g += (p.patternColor[1] - g) * w;
          b += (p.patternColor[2] - b) * w;
        }
        let hi = 0;
        if (p.gloss) {
          const hu = u + 0.35, hv = v + 0.35;
          hi = p.gloss * Math.exp(-(hu * hu + hv * hv) / 0.04);
        }
        k = Math.max(0, k);
        const o = (y * size + x) * 3;
        data[o] += (r * k + hi - data[o]) * a;
        data[o + 1] += (g * k + hi - data[o + 1]) * a;
        data[o + 2] += (b * k + hi - data[o + 2]) * a;
      }
    }
  }
}

/** Smooth 0..1 step between e0 and e1 (soft pattern edges, so markings are antialiased too). */
export function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/** HSL (h in degrees, s and l in [0, 1]) to RGB in [0, 1]. */
export function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [f(0), f(8), f(4)];
}
