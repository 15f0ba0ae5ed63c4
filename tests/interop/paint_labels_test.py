#!/usr/bin/python3
"""scripts/paint-labels.py against known answers: a label map of three blocks (blood, MLV,
background) painted without noise gives each block its value away from the edges, keeps the
grid (affine, shape) and the label map beside it, blurs across an edge as a Gaussian does,
and a missing source or an existing OUT is refused with one line and a non-zero exit.
usage: paint_labels_test.py PATH/TO/paint-labels.py"""
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

SCRIPT = sys.argv[1]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "src")
    os.makedirs(os.path.join(src, "ct_train"))
    lab = np.zeros((30, 12, 10), np.int16)
    lab[0:10] = 500   # LVBC
    lab[10:20] = 205  # MLV
    aff = np.diag([0.8, 0.8, 1.5, 1.0])
    aff[:3, 3] = [-12, 30, 7]
    nib.save(nib.Nifti1Image(lab, aff), os.path.join(src, "ct_train", "ct_train_1001_label.nii.gz"))
    with open(os.path.join(src, "dataset.json"), "w") as f:
        f.write("{}\n")

    out = os.path.join(tmp, "out")
    r = run(src, out, "--noise", "0", "--blur", "0", "--background", "-50")
    check(r.returncode == 0, "paint failed: %s" % r.stderr)
    img = nib.load(os.path.join(out, "ct_train", "ct_train_1001_image.nii.gz"))
    v = np.asarray(img.dataobj)
    check(img.get_data_dtype() == np.int16, "dtype %s" % img.get_data_dtype())
    check(v.shape == lab.shape and np.allclose(img.affine, aff), "grid %s %s" % (v.shape, img.affine))
    check(np.all(v[0:10] == 350) and np.all(v[10:20] == 120) and np.all(v[20:] == -50),
          "unblurred values %s %s %s" % (np.unique(v[0:10]), np.unique(v[10:20]), np.unique(v[20:])))
    copied = np.asarray(nib.load(os.path.join(out, "ct_train", "ct_train_1001_label.nii.gz")).dataobj)
    check(np.array_equal(copied, lab), "the label map beside it differs")
    check(os.path.exists(os.path.join(out, "dataset.json")), "no dataset.json")

    # Blur of 1 voxel across the MLV / background edge (between x 19 and 20): the Gaussian's
    # weights give the voxels either side 120 - 170 * 0.3085 and -50 + 170 * 0.3085 (the
    # normal tail beyond half a voxel), rounded; voxels far from edges keep their value.
    blurred = os.path.join(tmp, "blurred")
    r = run(src, blurred, "--noise", "0", "--blur", "1", "--background", "-50")
    check(r.returncode == 0, "blurred paint failed: %s" % r.stderr)
    b = np.asarray(nib.load(os.path.join(blurred, "ct_train", "ct_train_1001_image.nii.gz")).dataobj)
    x = np.arange(-3, 4)
    k = np.exp(-0.5 * x ** 2)
    k /= k.sum()
    tail = k[x >= 1].sum()  # the discrete kernel's weight beyond the edge
    check(abs(int(b[19, 5, 5]) - round(120 - 170 * tail)) <= 1 and abs(int(b[20, 5, 5]) - round(-50 + 170 * tail)) <= 1,
          "edge %d %d, want about %d %d" % (b[19, 5, 5], b[20, 5, 5], round(120 - 170 * tail), round(-50 + 170 * tail)))
    check(b[5, 5, 5] == 350 and b[15, 5, 5] == 120 and b[25, 5, 5] == -50, "blurred block centres %d %d %d"
          % (b[5, 5, 5], b[15, 5, 5], b[25, 5, 5]))

    # Noise: sd as asked over a block.
    noisy = os.path.join(tmp, "noisy")
    r = run(src, noisy, "--noise", "20", "--blur", "0")
    n = np.asarray(nib.load(os.path.join(noisy, "ct_train", "ct_train_1001_image.nii.gz")).dataobj).astype(float)
    check(r.returncode == 0 and abs(n[0:10].std() - 20) < 2 and abs(n[0:10].mean() - 350) < 2,
          "noise sd %.1f mean %.1f" % (n[0:10].std(), n[0:10].mean()))

    # Refused: an existing OUT without --force, a folder without label maps, negative noise.
    for args, what in [((src, out), out), ((tmp + "/nothing", os.path.join(tmp, "o2")), tmp + "/nothing"),
                       ((src, os.path.join(tmp, "o3"), "--noise", "-1"), "--noise")]:
        r = run(*args)
        check(r.returncode != 0 and what in r.stderr and r.stderr.count("\n") == 1,
              "%s: exit %d, %r" % (" ".join(args), r.returncode, r.stderr))
    check(not os.path.exists(os.path.join(tmp, "o3")), "a refused paint wrote its OUT")

print("paint_labels: %d failures" % len(failures))
sys.exit(1 if failures else 0)
