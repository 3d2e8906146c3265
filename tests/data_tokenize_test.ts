import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  barcodeCharStats,
  dnaTokenCount,
  dnaVocabSize,
  tokenizeDna,
  tokenizeDnaBatch,
} from "../src/data/dna.ts";
import { TextTokenizer } from "../src/data/text.ts";
import { normaliseLabel, NOT_CLASSIFIED, taxonomyString } from "../src/data/taxonomy.ts";
import { DNA_TSV } from "./shared_data.ts";

// Independent reference of spec 1.3, written from the torchtext construction (specials first,
// then itertools.product("ACGT", repeat=k) order) rather than from the arithmetic in dna.ts.
function referenceDna(seq: string, k: number, maxLen: number): number[] {
  const vocab = new Map<string, number>([["<MASK>", 0], ["<CLS>", 1], ["<UNK>", 2]]);
  const kmers = [""];
  for (let i = 0; i < k; i++) {
    const next: string[] = [];
    for (const p of kmers) for (const c of "ACGT") next.push(p + c);
    kmers.splice(0, kmers.length, ...next);
  }
  kmers.forEach((m) => vocab.set(m, vocab.size));
  const padded = (seq.slice(0, maxLen) + "N".repeat(maxLen)).slice(0, maxLen);
  const out = [0];
  for (let i = 0; i + k <= maxLen; i += k) out.push(vocab.get(padded.slice(i, i + k)) ?? 2);
  return out;
}

Deno.test("DNA: CLIBD defaults give 133 tokens over a 1027-entry vocabulary", () => {
  assertEquals(dnaTokenCount(), 133);
  assertEquals(dnaVocabSize(5), 1027);
  const t = tokenizeDna("AAAAATTTTTAAAAC");
  assertEquals(Array.from(t.slice(0, 5)), [0, 3, 1026, 4, 2]);
  assertEquals(t.length, 133);
});

Deno.test("DNA: matches the reference on real barcodes, odd characters and k/maxLen variants", async () => {
  const tsv = await Deno.readTextFile(DNA_TSV).catch(() => "");
  const seqs = tsv.split("\n").slice(1, 60).map((l) => l.split("\t")[9]).filter((s) => s);
  seqs.push("", "acgtACGTAC", "ACGRYACGT-ACG.T", "ACGTÄCGTAC", "N".repeat(700), "ACGT".repeat(200));
  for (const [k, maxLen] of [[5, 660], [3, 30], [4, 18]]) {
    const batch = tokenizeDnaBatch(seqs, { k, maxLen });
    const T = dnaTokenCount({ k, maxLen });
    seqs.forEach((s, i) => {
      assertEquals(
        Array.from(batch.subarray(i * T, (i + 1) * T)),
        referenceDna(s, k, maxLen),
        `k=${k} seq ${i}`,
      );
    });
  }
});

Deno.test("DNA: character statistics flag lower case, IUPAC and gaps", () => {
  assertEquals(barcodeCharStats("ACGTN"), { lower: 0, iupac: 0, gap: 0, other: 0 });
  assertEquals(barcodeCharStats("acRY-.Z 1"), { lower: 2, iupac: 2, gap: 2, other: 3 });
});

Deno.test("text: taxonomy string with not_classified", () => {
  const t = {
    order: normaliseLabel("Diptera"),
    family: normaliseLabel(" Cecidomyiidae "),
    genus: normaliseLabel(""),
    species: normaliseLabel(undefined),
  };
  assertEquals(taxonomyString(t), `Diptera Cecidomyiidae ${NOT_CLASSIFIED} ${NOT_CLASSIFIED}`);
});

Deno.test("text: matches the independent Python WordPiece reference on 350 taxonomy strings", async () => {
  const fx = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/data/text_tokens.json", import.meta.url)),
  );
  const tok = await TextTokenizer.fromVocabFile(undefined, fx.max_length);
  assertEquals(tok.vocabSize, 30522);
  const texts: string[] = fx.cases.map((c: { text: string }) => c.text);
  const out = tok.encodeBatch(texts);
  let truncated = 0;
  fx.cases.forEach((c: { text: string; input_ids: number[] }, i: number) => {
    const row = Array.from(out.inputIds.subarray(i * 20, i * 20 + 20));
    assertEquals(row, c.input_ids, JSON.stringify(c.text));
    assertEquals(
      Array.from(out.attentionMask.subarray(i * 20, i * 20 + 20)),
      c.input_ids.map((x) => x ? 1 : 0),
    );
    if (c.input_ids[19] !== 0) truncated++;
  });
  assertEquals(out.tokenTypeIds.every((x) => x === 0), true);
  if (truncated < 10) throw new Error(`fixture should exercise truncation; only ${truncated} cases reach 20`);
});
