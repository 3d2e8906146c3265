/**
 * Reading CLIBD's released embedding layout (a fixture written by h5py in that exact
 * layout, float64) and scoring it: the accuracies must equal those CLIBD's metric code
 * computes on the same file (tests/fixtures/eval/expected_acc_dict_test.json, from
 * scripts/make_eval_fixture.py).
 */
import { assertEquals } from "./assert.ts";
import { readExtractedFeatures, writeExtractedFeatures } from "../src/eval/embeddings_file.ts";
import { evaluateRetrieval } from "../src/eval/protocol.ts";

const FIX = new URL("./fixtures/eval/", import.meta.url).pathname;

Deno.test("released-layout embeddings give CLIBD's accuracies", async () => {
  const s = await readExtractedFeatures(`${FIX}extracted_feature_from_test_split.hdf5`);
  assertEquals(s.keys.labels.length, 30);
  assertEquals(s.keys.features.all_key_features!.data.length / 8, 90);
  const { accDict } = await evaluateRetrieval(s.seen, s.unseen, s.keys);
  const expected = JSON.parse(Deno.readTextFileSync(`${FIX}expected_acc_dict_test.json`));
  for (const [q, byKey] of Object.entries(expected) as [string, Record<string, Record<string, unknown>>][]) {
    for (const [k, e] of Object.entries(byKey)) {
      const got = accDict[q][k];
      if (Object.keys(e).length === 0) {
        assertEquals(got, {});
        continue;
      }
      for (const split of ["seen", "unseen"]) {
        for (const type of ["micro_acc", "macro_acc"]) {
          const exp =
            (e as Record<string, Record<string, Record<string, Record<string, number>>>>)[split][type];
          for (const kk of ["1", "3", "5"]) {
            for (const level of ["order", "family", "genus", "species"] as const) {
              const a = got[split][type][kk][level], b = exp[kk][level];
              if (Math.abs(a - b) > 1e-12) {
                throw new Error(`${q}->${k} ${split} ${type} k=${kk} ${level}: ${a} vs ${b}`);
              }
            }
          }
        }
      }
    }
  }
});

Deno.test("writing and reading the released layout round-trips", async () => {
  const s = await readExtractedFeatures(`${FIX}extracted_feature_from_test_split.hdf5`);
  const dir = await Deno.makeTempDir();
  try {
    await writeExtractedFeatures(dir, "val", s);
    const back = await readExtractedFeatures(`${dir}/extracted_feature_from_val_split.hdf5`);
    assertEquals(back.unseen.ids, s.unseen.ids);
    assertEquals(back.keys.labels, s.keys.labels);
    assertEquals([...back.seen.features.encoded_dna_feature!.data], [
      ...s.seen.features.encoded_dna_feature!.data,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing label file is a clear error naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(
      `${FIX}extracted_feature_from_test_split.hdf5`,
      `${dir}/extracted_feature_from_test_split.hdf5`,
    );
    let msg = "";
    try {
      await readExtractedFeatures(`${dir}/extracted_feature_from_test_split.hdf5`);
    } catch (e) {
      msg = (e as Error).message;
    }
    assertEquals(msg.includes("labels_test.json"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
