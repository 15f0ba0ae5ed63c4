#!/usr/bin/python3
"""Paints a CT from MM-WHS label maps alone, to see what a model makes of the shapes.

    scripts/paint-labels.py SOURCE OUT [--background HU] [--blood HU] [--myocardium HU]
                            [--noise SD] [--blur VOXELS] [--seed N] [--force]

SOURCE is a dataset folder (`coordseg phantom --out`: <set>/<case>_label.nii.gz and a
dataset.json); OUT gets the same layout, each label map copied beside a painted image on
its grid: the six blood pools (LABC, LVBC, RABC, RVBC, ASA, PUA) at one blood value, MLV at
the myocardium's, every other voxel at the background's, blurred by a Gaussian of `blur`
voxels and given white noise of `noise` HU. A CT painted from a real label map is one of
issue 13's checks kept outside the project; painting the phantom's own label maps measures
what is left when only the labelled shapes remain (docs/measurements.md). The predictions
are then scored as usual (`coordseg predict`, `coordseg evaluate --truth OUT`).

Needs numpy and nibabel (python3-numpy, python3-nibabel: scripts/install-deps.sh).
"""
import argparse
import glob
import os
import shutil
import sys

import nibabel as nib
import numpy as np

BLOOD = (420, 500, 550, 600, 820, 850)
MYOCARDIUM = 205


def blur(volume, sigma):
    """Separable Gaussian blur (sigma in voxels), edges clamped."""
    if sigma <= 0:
        return volume
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    out = volume
    for axis in range(3):
        padded = np.moveaxis(out, axis, -1)
        padded = np.concatenate([np.repeat(padded[..., :1], radius, -1), padded,
                                 np.repeat(padded[..., -1:], radius, -1)], -1)
        acc = np.zeros(padded.shape[:-1] + (padded.shape[-1] - 2 * radius,), np.float32)
        for i, k in enumerate(kernel):
            acc += k * padded[..., i:i + acc.shape[-1]]
        out = np.moveaxis(acc, -1, axis)
    return out


def paint(labels, a, rng):
    image = np.full(labels.shape, a.background, np.float32)
    image[labels == MYOCARDIUM] = a.myocardium
    image[np.isin(labels, BLOOD)] = a.blood
    image = blur(image, a.blur) + rng.normal(0, a.noise, labels.shape).astype(np.float32)
    return np.clip(np.rint(image), -32768, 32767).astype(np.int16)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--background", type=float, default=0.0, help="HU of every unlabelled voxel (default 0)")
    ap.add_argument("--blood", type=float, default=350.0, help="HU of the blood pools (default 350)")
    ap.add_argument("--myocardium", type=float, default=120.0, help="HU of MLV (default 120)")
    ap.add_argument("--noise", type=float, default=20.0, help="noise sd in HU (default 20)")
    ap.add_argument("--blur", type=float, default=0.7, help="Gaussian blur sd in voxels (default 0.7)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--force", action="store_true", help="write into an OUT that exists")
    a = ap.parse_args()
    labels = sorted(glob.glob(os.path.join(a.source, "*", "*_label.nii.gz")))
    if not labels:
        sys.exit("paint-labels: %s: no <set>/<case>_label.nii.gz files" % a.source)
    if os.path.exists(a.out) and not a.force:
        sys.exit("paint-labels: %s: exists (pass --force to write into it)" % a.out)
    if a.noise < 0 or a.blur < 0:
        sys.exit("paint-labels: --noise and --blur must not be negative")
    rng = np.random.default_rng(a.seed)
    for path in labels:
        folder = os.path.join(a.out, os.path.basename(os.path.dirname(path)))
        os.makedirs(folder, exist_ok=True)
        im = nib.load(path)
        painted = nib.Nifti1Image(paint(np.asarray(im.dataobj), a, rng), im.affine, im.header)
        painted.set_data_dtype(np.int16)
        painted.header.set_slope_inter(1, 0)
        name = os.path.basename(path)
        nib.save(painted, os.path.join(folder, name.replace("_label.nii.gz", "_image.nii.gz")))
        shutil.copy(path, os.path.join(folder, name))
    if os.path.exists(os.path.join(a.source, "dataset.json")):
        shutil.copy(os.path.join(a.source, "dataset.json"), os.path.join(a.out, "dataset.json"))
    print("painted %d label maps into %s" % (len(labels), a.out))


if __name__ == "__main__":
    main()
