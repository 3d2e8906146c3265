"""Writes a tiny evaluation fixture in the exact layout of CLIBD's released
`extracted_feature_from_test_split.hdf5` (h5py, float64, groups seen/unseen/key)
with `labels_test.json` and `processed_id_test.json`, plus the accuracies that
CLIBD's own metric code computes on it (the functions below are the upstream
`make_prediction` / `top_k_micro_accuracy` / `top_k_macro_accuracy` logic, with a
numpy exact inner-product search in place of faiss.IndexFlatIP; ties are broken
by the lower key index, as faiss's exact search does).

Run: /usr/bin/python3 scripts/make_eval_fixture.py   (needs python3-h5py, numpy)
"""
import json
import zlib
import os

import h5py
import numpy as np

LEVELS = ["order", "family", "genus", "species"]
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "eval")
rng = np.random.default_rng(7)
DIM = 8


def labels(n, n_species, offset):
    out = []
    for _ in range(n):
        s = int(rng.integers(n_species)) + offset
        out.append({"order": f"Order{s % 2}", "family": f"Fam{s % 3}", "genus": f"Gen{s % 5}",
                    "species": f"Gen{s % 5} sp{s}" if s % 4 else "not_classified"})
    return out


def feats(lab, noise):
    # Features near a per-species centre so that retrieval is better than chance.
    centres = {}
    rows = []
    for t in lab:
        key = t["species"] + t["genus"]
        if key not in centres:
            centres[key] = np.random.default_rng(zlib.crc32(key.encode())).normal(size=DIM)
        rows.append(centres[key] + noise * rng.normal(size=DIM))
    x = np.array(rows)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def search(q, k, max_k):
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    k = k / np.maximum(np.linalg.norm(k, axis=1, keepdims=True), 1e-12)
    s = (q.astype(np.float32) @ k.astype(np.float32).T)
    # stable sort on -s keeps the lower index first among equal similarities
    return np.argsort(-s, axis=1, kind="stable")[:, :max_k]


def predict(idx, key_labels):
    return [{lv: [key_labels[i][lv] for i in row] for lv in LEVELS} for row in idx]


def micro(pred, gt, ks):
    return {k: {lv: sum(g[lv] in p[lv][:k] for p, g in zip(pred, gt)) / len(gt) for lv in LEVELS} for k in ks}


def macro(pred, gt, ks):
    out = {}
    for k in ks:
        out[k] = {}
        for lv in LEVELS:
            right, total = {}, {}
            for p, g in zip(pred, gt):
                c = g[lv]
                total[c] = total.get(c, 0) + 1
                right[c] = right.get(c, 0) + (1 if c in p[lv][:k] else 0)
            out[k][lv] = sum(right[c] / total[c] for c in total) / len(total)
    return out


seen_l, unseen_l, key_l = labels(12, 6, 0), labels(10, 6, 6), labels(30, 12, 0)
splits = {"seen": seen_l, "unseen": unseen_l, "key": key_l}
data = {}
for name, lab in splits.items():
    img, dna, txt = feats(lab, 0.9), feats(lab, 0.3), feats(lab, 0.5)
    d = {"encoded_image_feature": img, "encoded_dna_feature": dna, "encoded_language_feature": txt,
         "averaged_feature": np.mean([img, dna], axis=0), "concatenated_feature": np.concatenate((img, dna), axis=1)}
    if name == "key":
        d["all_key_features"] = np.concatenate((img, dna, txt), axis=0)
    data[name] = d

os.makedirs(OUT, exist_ok=True)
with h5py.File(os.path.join(OUT, "extracted_feature_from_test_split.hdf5"), "w") as f:
    for name, d in data.items():
        g = f.create_group(name)
        for t, x in d.items():
            g.create_dataset(t, data=x.astype(np.float64))
with open(os.path.join(OUT, "labels_test.json"), "w") as f:
    json.dump({"seen_gt_dict": seen_l, "unseen_gt_dict": unseen_l, "key_gt_dict": key_l}, f, indent=4)
with open(os.path.join(OUT, "processed_id_test.json"), "w") as f:
    json.dump({"seen_id_list": [f"s{i}.jpg" for i in range(12)], "unseen_id_list": [f"u{i}.jpg" for i in range(10)],
               "key_id_list": [f"k{i}.jpg" for i in range(30)]}, f, indent=4)

ks = [1, 3, 5]
acc = {}
for q in ["encoded_image_feature", "encoded_dna_feature", "encoded_language_feature", "averaged_feature",
          "concatenated_feature"]:
    acc[q] = {}
    for k in ["encoded_image_feature", "encoded_dna_feature", "encoded_language_feature", "averaged_feature",
              "concatenated_feature", "all_key_features"]:
        acc[q][k] = {}
        keys = data["key"][k]
        if keys.shape[1] != data["seen"][q].shape[1]:
            continue
        key_labels = key_l * 3 if k == "all_key_features" else key_l
        for split, gt in [("seen", seen_l), ("unseen", unseen_l)]:
            pred = predict(search(data[split][q], keys, 5), key_labels)
            acc[q][k][split] = {"micro_acc": micro(pred, gt, ks), "macro_acc": macro(pred, gt, ks)}
with open(os.path.join(OUT, "expected_acc_dict_test.json"), "w") as f:
    json.dump(acc, f, indent=1)
print("wrote", OUT)
