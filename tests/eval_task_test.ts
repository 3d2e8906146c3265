/**
 * `deno task eval` end to end on a small dataset: from a model (no checkpoint: the
 * no-alignment baseline) it writes CLIBD's files, and re-scoring the embeddings file it
 * wrote (`--embeddings`) gives the same accuracies.
 */
import { main as evalMain } from "../tasks/eval.ts";
import { assert, assertEquals } from "./assert.ts";
import { trainData } from "./train_fixture.ts";

Deno.test("eval from a model, then from its saved embeddings, gives the same acc_dict", async () => {
  const data = await trainData();
  const out = await Deno.makeTempDir();
  const sets = [
    "--set=image.hidden=16",
    "--set=image.heads=2",
    "--set=image.mlp=32",
    "--set=image.layers=1",
    "--set=dna.hidden=16",
    "--set=dna.heads=2",
    "--set=dna.intermediate=32",
    "--set=dna.layers=1",
    "--set=dna.max_positions=24",
    "--set=data.dna_max_len=64",
    "--set=data.workers=0",
    "--set=language.hidden=16",
    "--set=language.heads=2",
    "--set=language.intermediate=32",
    "--set=language.layers=1",
    "--set=output_dim=16",
  ];
  try {
    await evalMain(["--config", "configs/demo_tiny.yaml", "--data", data, "--out", `${out}/a`, ...sets]);
    for (
      const f of [
        "acc_dict_test.json",
        "per_class_acc_test.json",
        "pred_dict_test.json",
        "results.csv",
        "report_test.md",
        "accuracy_by_level_test.svg",
        "extracted_feature_from_test_split.hdf5",
        "labels_test.json",
        "processed_id_test.json",
      ]
    ) {
      assert((await Deno.stat(`${out}/a/${f}`)).size > 0, `${f} missing`);
    }
    await evalMain(["--embeddings", `${out}/a/extracted_feature_from_test_split.hdf5`, "--out", `${out}/b`]);
    const a = JSON.parse(await Deno.readTextFile(`${out}/a/acc_dict_test.json`));
    const b = JSON.parse(await Deno.readTextFile(`${out}/b/acc_dict_test.json`));
    assertEquals(b, a);
    const csv = (await Deno.readTextFile(`${out}/a/results.csv`)).split("\r\n");
    assertEquals(csv[0].split(",").length, 18);
    assert(csv[1].startsWith("FineTuning,None,"), `first row: ${csv[1]}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
