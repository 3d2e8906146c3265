import { assert, assertEquals } from "./assert.ts";
import { formatDuration, formatNumber, Progress } from "../src/train/progress.ts";

function fake() {
  let t = 0;
  const out: string[] = [];
  return { out, advance: (ms: number) => (t += ms), now: () => t, write: (s: string) => void out.push(s) };
}

Deno.test("progress: plain mode prints whole lines at most every intervalSec", () => {
  const f = fake();
  const p = new Progress({
    label: "train",
    total: 100,
    unit: "rec",
    tty: false,
    intervalSec: 5,
    write: f.write,
    now: f.now,
  });
  for (let i = 1; i <= 40; i++) {
    f.advance(250); // 4 items per second
    p.update(i, { loss: 2.5 - i / 100, lr: 1.2e-4 });
  }
  // the first update (t = 0.25 s) starts the interval; one line 5 s later (item 21 at t = 5.25 s):
  // rate 21 / 5.25 s = 4/s, ETA 79 / 4 = 19.75 s
  assertEquals(f.out.length, 1);
  assertEquals(f.out[0], "train  21/100  21.0%  |  loss 2.29  lr 1.20e-4  |  4 rec/s  ETA 20s\n");
  p.finish({ loss: 2.1 });
  assertEquals(f.out.length, 2);
  assert(
    f.out[1].startsWith("train  40/100  40.0%  |  loss 2.1  lr 1.20e-4  |  4 rec/s  elapsed 10s"),
    f.out[1],
  );
  assert(
    f.out.every((l) => !l.includes("\r") && !l.includes("\x1b")),
    "no control characters when not a TTY",
  );
  p.finish();
  assertEquals(f.out.length, 2, "finish is idempotent");
});

Deno.test("progress: plain mode by item count, unknown total", () => {
  const f = fake();
  const p = new Progress({
    label: "embed",
    tty: false,
    intervalSec: 1e9,
    everyItems: 10,
    write: f.write,
    now: f.now,
  });
  for (let i = 0; i < 25; i++) {
    f.advance(100);
    p.tick();
  }
  assertEquals(f.out.length, 2);
  assertEquals(f.out[0], "embed  10  |  10 it/s\n");
  assertEquals(f.out[1], "embed  20  |  10 it/s\n");
});

Deno.test("progress: terminal mode redraws one line in place", () => {
  const f = fake();
  const p = new Progress({ label: "search", total: 4, tty: true, write: f.write, now: f.now });
  f.advance(1000);
  p.tick();
  f.advance(1000);
  p.log("a message");
  p.finish();
  assert(
    f.out[0].startsWith("\rsearch  1/4  25.0%") && f.out[0].endsWith("\x1b[K"),
    JSON.stringify(f.out[0]),
  );
  assertEquals(f.out[1], "\r\x1b[Ka message\n");
  assert(f.out.at(-1)!.startsWith("\r\x1b[Ksearch  1/4") && f.out.at(-1)!.endsWith("\n"));
});

Deno.test("progress: number and duration formatting", () => {
  assertEquals([formatNumber(3), formatNumber(2.34567), formatNumber(1.5e-5), formatNumber(NaN)], [
    "3",
    "2.346",
    "1.50e-5",
    "NaN",
  ]);
  assertEquals([formatDuration(45.2), formatDuration(185), formatDuration(7620), formatDuration(Infinity)], [
    "45s",
    "3m05s",
    "2h07m",
    "?",
  ]);
});
