import { deepStrictEqual as assertEquals, match, rejects, throws } from "node:assert/strict";
import { Hdf5File, Hdf5Writer, writeDatasets } from "../src/data/hdf5.ts";

const dir = await Deno.makeTempDir({ prefix: "clibd_hdf5_" });

Deno.test("hdf5: round trip of numbers, strings and row-prefix reads", async () => {
  const path = `${dir}/rt.h5`;
  const w = await Hdf5Writer.create(path);
  w.createDataset("train/image", { dtype: "u8", shape: [5, 16] });
  const rows = new Uint8Array(3 * 16).map((_, i) => i % 251);
  w.writeRows("train/image", 1, rows);
  w.writeDataset("train/image_mask", new BigInt64Array([0n, 16n, 3n, 9n, 0n]), undefined, "i64");
  w.writeDataset("train/species", ["Aedes aegypti", "Drosophila mélanogaster", "", "x", "not_classified"]);
  w.writeDataset("train/f", new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  w.close();
  const f = await Hdf5File.open(path);
  assertEquals(f.groups(), ["train"]);
  assertEquals(f.shape("train/image"), [5, 16]);
  assertEquals(Array.from(f.readRowPrefix("train/image", 2, 3)), [16, 17, 18]);
  assertEquals(Array.from(f.readRowPrefix("train/image", 0, 2)), [0, 0]);
  assertEquals(Array.from(f.readNumbers("train/image_mask", 1, 4)), [16, 3, 9]);
  assertEquals(f.readStrings("train/species", 1, 3), ["Drosophila mélanogaster", ""]);
  assertEquals(Array.from(f.readRows("train/f", 1, 3) as Float32Array), [3, 4, 5, 6]);
  f.close();
});

Deno.test("hdf5: clear errors for missing datasets, ranges, truncated and non-HDF5 files", async () => {
  const path = `${dir}/e.h5`;
  await writeDatasets(path, { "seen/a": { data: new Int32Array([1, 2]) }, "seen/b": ["x", "y"] });
  const f = await Hdf5File.open(path);
  throws(() => f.readRows("seen/c", 0, 1), /e\.h5: no dataset "seen\/c" \(group "\/seen" has: a, b\)/);
  throws(() => f.readRows("unseen/a", 0, 1), /no dataset "unseen\/a" \(group "\/" has: seen\)/);
  throws(() => f.readRows("seen/a", 1, 5), /rows \[1, 5\) out of range for seen\/a with 2 rows/);
  throws(() => f.readRowPrefix("seen/a", 0, 1), /not 2-D/);
  f.close();
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(`${dir}/trunc.h5`, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await rejects(Hdf5File.open(`${dir}/trunc.h5`), (e: Error) => {
    match(e.message, /^cannot open HDF5 file .*trunc\.h5: .*truncated file/);
    assertEquals(e.message.includes("\n"), false);
    return true;
  });
  await Deno.writeTextFile(`${dir}/text.h5`, "processid\tsampleid\n");
  await rejects(Hdf5File.open(`${dir}/text.h5`), /not an HDF5 file \(no HDF5 signature\): .*text\.h5/);
  await rejects(Hdf5File.open(`${dir}/missing.h5`), /HDF5 file not found: .*missing\.h5/);
});

Deno.test("hdf5: writeDatasets writes the spec 9.4 embedding layout atomically", async () => {
  const path = `${dir}/emb.h5`;
  await writeDatasets(path, {
    encoded_image_feature: { data: new Float64Array([0.5, -1, 2, 3]), shape: [2, 2] },
    species_list: ["Aedes aegypti", "Culex pipiens"],
    "key/averaged_feature": { data: new Float32Array(4), shape: [2, 2] },
  });
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("emb.h5"));
  assertEquals(names, ["emb.h5"]);
  const f = await Hdf5File.open(path);
  assertEquals(f.dtype("encoded_image_feature"), "<d");
  assertEquals(Array.from(f.readNumbers("encoded_image_feature", 0, 2)), [0.5, -1, 2, 3]);
  assertEquals(f.readStrings("species_list", 0, 2), ["Aedes aegypti", "Culex pipiens"]);
  assertEquals(f.shape("key/averaged_feature"), [2, 2]);
  f.close();
});
