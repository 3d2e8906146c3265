/**
 * Where the project's shared third-party data lives: `shared/data/` next to the checkout
 * (as on developer machines and in CI). Tests that need a file only found there skip
 * their case when it is absent; everything the suite needs to pass is copied into the repo.
 */
import { fileURLToPath } from "node:url";

/** `<checkout>/../shared/data/` as a path ending in a slash. */
export const SHARED_DATA: string = fileURLToPath(new URL("../../shared/data/", import.meta.url));

/** The demo TSV bundled with the repo (a copy of shared/data/dna/barcodebert_unseen_2023-07.tsv). */
export const DNA_TSV: string = fileURLToPath(
  new URL("../data/demo/barcodebert_unseen_2023-07.tsv", import.meta.url),
);
