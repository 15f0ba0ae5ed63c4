#!/usr/bin/python3
"""Measures the heart's anatomy on MM-WHS label maps, as docs/measurements.md reports it.

    scripts/label-anatomy.py FOLDER [--cases N] [--per-case]

FOLDER holds <set>/<case>_label.nii.gz files (a `coordseg phantom` dataset, or predictions).
The measures come from the labels alone, so they check the phantom's own facts
(phantom_facts.csv, measured on its shapes) from outside, and apply to any label map:

- faces: voxel faces shared by each pair of structures (MLV 205, LABC 420, LVBC 500, RABC 550,
  RVBC 600, ASA 820, PUA 850): blood pools should meet only at the valves.
- interfaces: the centres of the LA/LV and RA/RV faces (the mitral and tricuspid planes). The
  LV's axis runs from the mitral centre to the farthest LV voxel (LVBC or MLV); `apical` is
  how far the tricuspid centre lies along it past the mitral one, `lower` how far below it in
  world z (supine), `apart` the distance between them. The septal hinges are each
  interface's point nearest the other's centre: `hinge_apical` how far the tricuspid's lies
  along the LV's axis past the mitral's (5-10 mm in hearts, echocardiography's apical
  offset), `hinge_apart` their distance. Along the line from the mitral centre to the
  tricuspid one, over the voxels within 2 mm of it: `line_lv` how far LVBC reaches from the
  mitral centre, `line_septum` the gap from there to where RVBC begins (the septum and its
  walls, centre to centre), `line_rv` from there to the tricuspid centre -- what keeps the
  two centres apart.
- semilunar valves: the centres of the LV/ASA and RV/PUA faces (the aortic and pulmonary
  valve planes); `pv_height` is how far the pulmonary one lies above the aortic one in world
  z (supine), `pv_apart` the distance between them. `la_top` and `ra_top`: how far the
  highest LABC and RABC voxel centres lie above the aortic one in world z (the LA with its
  appendage and labelled vein stubs, the RA with its appendage); an axial slice through the
  pulmonary valve cuts both atria in hearts.
- LV: the cavity's length from the mitral centre to its farthest LVBC voxel, and its widest
  and narrowest extent across a 6 mm slab a third of the way down.
- RV, as echocardiography's RV-focused view measures it: its widest radial extent within
  15 degrees of the tricuspid direction in 6 mm slabs from the tricuspid level to 20 mm
  below it (basal) and halfway from there to the RV's apex (mid), and its length from the
  tricuspid level to the apex along the LV's axis.

Needs numpy and nibabel (python3-numpy, python3-nibabel: scripts/install-deps.sh).
"""
import argparse
import glob
import os
import sys

import nibabel as nib
import numpy as np

LABELS = {205: "MLV", 420: "LABC", 500: "LVBC", 550: "RABC", 600: "RVBC", 820: "ASA", 850: "PUA"}


def world(idx, aff):
    return idx @ aff[:3, :3].T + aff[:3, 3]


def face_counts(lab):
    """Voxel faces between each pair of different nonzero labels."""
    counts = {}
    for ax in range(3):
        n = lab.shape[ax] - 1
        a = lab.take(range(n), axis=ax)
        b = lab.take(range(1, n + 1), axis=ax)
        m = (a != b) & (a != 0) & (b != 0)
        lo = np.minimum(a[m], b[m]).astype(np.int64)
        hi = np.maximum(a[m], b[m]).astype(np.int64)
        keys, n_faces = np.unique(lo * 10000 + hi, return_counts=True)
        for k, c in zip(keys, n_faces):
            pair = (int(k // 10000), int(k % 10000))
            counts[pair] = counts.get(pair, 0) + int(c)
    return counts


def interface(lab, aff, a, b):
    """World points at the centres of the faces between labels a and b."""
    pts = []
    for ax in range(3):
        n = lab.shape[ax] - 1
        x = lab.take(range(n), axis=ax)
        y = lab.take(range(1, n + 1), axis=ax)
        idx = np.argwhere(((x == a) & (y == b)) | ((x == b) & (y == a))).astype(float)
        idx[:, ax] += 0.5
        pts.append(idx)
    p = np.vstack(pts)
    return world(p, aff) if len(p) else p


def measure(path):
    im = nib.load(path)
    lab = np.asarray(im.dataobj).astype(np.int32)
    aff = im.affine
    out = {"faces": face_counts(lab)}
    aortic = interface(lab, aff, 500, 820)
    pulmonary = interface(lab, aff, 600, 850)
    if len(aortic) and len(pulmonary):
        a, p = aortic.mean(0), pulmonary.mean(0)
        out["pv_height"] = float(p[2] - a[2])
        out["pv_apart"] = float(np.linalg.norm(p - a))
        for value, key in [(420, "la_top"), (550, "ra_top")]:
            k = np.argwhere(lab == value)
            if len(k):
                out[key] = float(world(k, aff)[:, 2].max() - a[2])
    mitral = interface(lab, aff, 420, 500)
    tricuspid = interface(lab, aff, 550, 600)
    if len(mitral) == 0 or len(tricuspid) == 0:
        return out
    m = mitral.mean(0)
    t = tricuspid.mean(0)
    lv = world(np.argwhere((lab == 500) | (lab == 205)), aff)
    apex = lv[np.argmax(np.linalg.norm(lv - m, axis=1))]
    w = (apex - m) / np.linalg.norm(apex - m)
    out["apical"] = float((t - m) @ w)
    out["lower"] = float(m[2] - t[2])
    out["apart"] = float(np.linalg.norm(t - m))
    # The septal hinges: the point of each interface nearest the other's centre.
    mh = mitral[np.argmin(np.linalg.norm(mitral - t, axis=1))]
    th = tricuspid[np.argmin(np.linalg.norm(tricuspid - m, axis=1))]
    out["hinge_apical"] = float((th - mh) @ w)
    out["hinge_apart"] = float(np.linalg.norm(th - mh))
    u = (t - m) / np.linalg.norm(t - m)
    cavity = world(np.argwhere(lab == 500), aff)
    rv_points = world(np.argwhere(lab == 600), aff)

    def along(points):
        """Positions along the line m -> t of the world `points` within 2 mm of it."""
        p = points - m
        s = p @ u
        return s[np.linalg.norm(p - np.outer(s, u), axis=1) <= 2.0]

    lv_line, rv_line = along(cavity), along(rv_points)
    lv_reach = lv_line.max() if len(lv_line) else 0.0
    rv_beyond = rv_line[rv_line > lv_reach]
    if len(rv_beyond):
        out["line_lv"] = float(lv_reach)
        out["line_septum"] = float(rv_beyond.min() - lv_reach)
        out["line_rv"] = float(out["apart"] - rv_beyond.min())

    s = (cavity - m) @ w
    length = s.max()
    slab = np.abs(s - length / 3) < 3
    across = (cavity - m)[slab] - np.outer(s[slab], w)
    centred = across - across.mean(0)
    axes = np.linalg.svd(centred, full_matrices=False)[2]
    extent = [np.ptp(centred @ axes[i]) for i in range(2)]
    out["lv_length"] = float(length)
    out["lv_widest"] = float(max(extent))
    out["lv_narrowest"] = float(min(extent))

    rv = rv_points - m
    s = rv @ w
    perp = rv - np.outer(s, w)
    e1 = (t - m) - ((t - m) @ w) * w
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(w, e1)
    angle = np.arctan2(perp @ e2, perp @ e1)
    radius = np.linalg.norm(perp, axis=1)
    level = (t - m) @ w
    tip = s.max()

    def width(lo, hi):
        in_slab = (s >= lo) & (s < hi)
        best = 0.0
        for a0 in np.arange(-np.pi / 12, np.pi / 12, np.pi / 36):
            k = in_slab & (angle >= a0) & (angle < a0 + np.pi / 36)
            if k.sum() >= 5:
                best = max(best, float(np.ptp(radius[k])))
        return best

    out["rv_basal"] = max(width(level + d, level + d + 6) for d in range(0, 20, 3))
    mid = 0.5 * (level + tip)
    out["rv_mid"] = width(mid - 3, mid + 3)
    out["rv_length"] = float(tip - level)
    return out


def summary(name, values):
    v = np.array(values, dtype=float)
    print("%-28s %8.1f %8.1f %8.1f %8.1f" % (name, v.min(), np.median(v), v.mean(), v.max()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--cases", type=int, default=0, help="the first N label maps only (0: all)")
    ap.add_argument("--per-case", action="store_true", help="a line per case as well")
    args = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(args.folder, "*", "*_label.nii.gz")))
    if args.cases > 0:
        paths = paths[: args.cases]
    if not paths:
        sys.exit("label-anatomy: %s: no <set>/<case>_label.nii.gz files" % args.folder)
    rows = []
    for p in paths:
        r = measure(p)
        r["case"] = os.path.basename(p)[: -len("_label.nii.gz")]
        rows.append(r)
        if args.per_case and "apart" in r:
            print("%s lv %.1f x %.1f/%.1f  rv basal %.1f mid %.1f length %.1f  tricuspid apical %.1f lower %.1f apart %.1f"
                  "  hinges apical %.1f apart %.1f"
                  % (r["case"], r["lv_length"], r["lv_widest"], r["lv_narrowest"], r["rv_basal"], r["rv_mid"],
                     r["rv_length"], r["apical"], r["lower"], r["apart"], r["hinge_apical"], r["hinge_apart"]))
    print("%d label maps in %s" % (len(rows), args.folder))
    print("%-28s %8s %8s %8s %8s" % ("measure (mm)", "min", "median", "mean", "max"))
    full = [r for r in rows if "apart" in r]
    for key, name in [("lv_length", "LV length"), ("lv_widest", "LV widest, 1/3 down"),
                      ("lv_narrowest", "LV narrowest, 1/3 down"), ("rv_basal", "RV basal"),
                      ("rv_mid", "RV mid-cavity"), ("rv_length", "RV length"),
                      ("apical", "tricuspid apical of mitral"), ("lower", "tricuspid below mitral"),
                      ("apart", "tricuspid-mitral apart"), ("hinge_apical", "hinge apical"), ("hinge_apart", "hinges apart"),
                      ("line_lv", "line: LVBC past mitral"), ("line_septum", "line: septum, LVBC to RVBC"),
                      ("line_rv", "line: RVBC to tricuspid")]:
        have = [r[key] for r in full if key in r]
        if have:
            summary(name, have)
    valves = [r for r in rows if "pv_height" in r]
    for key, name in [("pv_height", "pulmonary above aortic"), ("pv_apart", "pulmonary-aortic apart"),
                      ("la_top", "LA top above aortic"), ("ra_top", "RA top above aortic")]:
        have = [r[key] for r in valves if key in r]
        if have:
            summary(name, have)
    print("%-12s %6s %8s %8s" % ("faces", "cases", "median", "max"))
    pairs = sorted({k for r in rows for k in r["faces"]})
    for pair in pairs:
        if pair[0] not in LABELS or pair[1] not in LABELS:
            continue
        v = [r["faces"].get(pair, 0) for r in rows]
        print("%-12s %6d %8.0f %8d" % (LABELS[pair[0]] + "/" + LABELS[pair[1]], sum(x > 0 for x in v),
                                        np.median(v), max(v)))


if __name__ == "__main__":
    main()
