#!/usr/bin/python3
"""Reference fixtures for src/data/image/* from torchvision (the library CLIBD uses).

Run with Debian's python (torch 1.13, torchvision 0.14, PIL):
    /usr/bin/python3 scripts/make_image_fixtures.py [photo_dir]

Writes tests/fixtures/images/manifest.json and raw little-endian float32 CHW tensors (*.f32).
Photos default to /work/shared/data/images/bioscan1m (BIOSCAN-1M, CC BY-NC-SA 4.0). Every photo gets
a PIL-decode checksum and a reduced-size (64/56) eval fixture; a few get the full 256/224 eval
transform, the 2880x2160 originals get Resize(256) with a smaller centre crop (96) to keep fixtures
small while still exercising the 8.4x antialiased downscale. Train-transform pieces are checked with
torchvision functional calls at fixed parameters on a small resized tensor.
"""
import glob
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "images")
PHOTOS = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/images/bioscan1m"


def save(name, t):
    a = t.detach().contiguous().numpy().astype("<f4")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(a.tobytes())
    return {"file": name, "shape": list(a.shape)}


def load(path):
    # CLIBD: PIL decode -> ToTensor (float in [0,1], CHW).
    return T.ToTensor()(Image.open(path).convert("RGB"))


def eval_transform(resize, crop):
    # The CLIBD eval/inference pipeline (spec 5.3), sizes configurable for tiny models.
    return T.Compose([T.Resize(resize, antialias=True), T.CenterCrop(crop)])


def main():
    os.makedirs(OUT, exist_ok=True)
    photos = sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")))
    manifest = {
        "generator": f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"PIL {Image.__version__}",
        "decode": [],
        "eval": [],
        "functional": [],
        "fallback": [],
    }
    full = {"BIOUG68001-C12.jpg", "cropped_resized_BIOUG68021-F12.jpg"}
    for p in photos:
        name = os.path.basename(p)
        im = Image.open(p).convert("RGB")
        rgb = im.tobytes()
        manifest["decode"].append({"photo": name, "width": im.width, "height": im.height,
                                   "sha256": hashlib.sha256(rgb).hexdigest()})
        x = load(p)
        stem = os.path.splitext(name)[0]
        cases = [(64, 56)]
        if name in full:
            cases.append((256, 224))
        if im.width >= 2000:
            cases.append((256, 96))
        if name == "cropped_resized_BIOUG68020-A01.jpg":
            cases.append((300, 40))  # upscaling 256 -> 300
            cases.append((32, 40))  # crop larger than the resized image: zero padding
        for r, c in cases:
            y = eval_transform(r, c)(x)
            e = save(f"eval_{stem}_{r}_{c}.f32", y)
            e.update({"photo": name, "resize": r, "crop": c})
            manifest["eval"].append(e)

    # Train pieces at fixed parameters on a small resized tensor (3 x 64 x 85).
    base_photo = "BIOUG68104-C02.jpg"
    x = T.Resize(64, antialias=True)(load(os.path.join(PHOTOS, base_photo)))
    inp = save("train_input.f32", x)
    inp["photo"] = base_photo
    manifest["train_input"] = inp
    fn = manifest["functional"]

    def add(name, op, params, y):
        e = save(f"fn_{name}.f32", y)
        e.update({"op": op, **params})
        fn.append(e)

    for name, (i, j, h, w, s) in {"rc_down": (5, 10, 40, 50, 24), "rc_up": (3, 7, 20, 17, 56),
                                  "rc_full": (0, 0, 64, 85, 56)}.items():
        y = F.resized_crop(x, i, j, h, w, [s, s], InterpolationMode.BILINEAR, antialias=True)
        add(name, "resized_crop", {"i": i, "j": j, "h": h, "w": w, "size": s}, y)
    add("hflip", "hflip", {}, F.hflip(x))
    add("vflip", "vflip", {}, F.vflip(x))
    for angle in (30.0, -45.0, 17.3, 90.0):
        # Exactly what RandomRotation((-45, 45)) does once it has drawn `angle` (fill [0,0,0]).
        y = F.rotate(x, angle, InterpolationMode.NEAREST, expand=False, center=None, fill=[0.0, 0.0, 0.0])
        add(f"rot_{angle:g}", "rotate", {"angle": angle}, y)

    # RandomResizedCrop's fallback (after 10 failed tries): scale (2, 2) makes every try fail.
    for h, w in [(10, 200), (200, 10), (100, 120), (64, 85), (224, 224), (256, 341), (300, 100)]:
        i, j, ch, cw = T.RandomResizedCrop.get_params(torch.zeros(3, h, w), [2.0, 2.0], [3 / 4, 4 / 3])
        manifest["fallback"].append({"height": h, "width": w, "i": i, "j": j, "h": ch, "w": cw})

    # Distribution of RandomResizedCrop boxes on a 256 x 341 image (the CLIBD case): rejection of
    # boxes that do not fit makes the kept area fraction smaller than the uniform mean 0.54.
    torch.manual_seed(0)
    H, W, n = 256, 341, 20000
    boxes = [T.RandomResizedCrop.get_params(torch.zeros(3, H, W), [0.08, 1.0], [3 / 4, 4 / 3]) for _ in range(n)]
    area = np.array([h * w / (H * W) for _, _, h, w in boxes])
    logr = np.array([np.log(w / h) for _, _, h, w in boxes])
    manifest["rrc_stats"] = {"height": H, "width": W, "n": n, "area_mean": area.mean(), "area_sd": area.std(),
                             "log_ratio_mean": logr.mean(), "log_ratio_sd": logr.std()}

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB to {OUT}")


if __name__ == "__main__":
    main()
