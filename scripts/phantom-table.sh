#!/usr/bin/env bash
# The phantom against published anatomy: draws N cases (default 40, seed 7), then prints a
# markdown table of each structure's volume and each vessel's length and lumen diameter
# (min, mean, max over the cases) beside the published values the phantom draws from.
# README.md "The built-in phantom" cites the sources.
#   scripts/phantom-table.sh [COORDSEG] [N] [SEED]
set -euo pipefail
C=${1:-build/app/coordseg}
N=${2:-40}
SEED=${3:-7}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$C" phantom --out "$OUT/data" --cases "$N" --seed "$SEED" >/dev/null
awk -F, -v n="$N" -v seed="$SEED" '
NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next }
{
  for (i = 1; i <= NF; ++i) {
    v = $i + 0
    if (!(i in lo) || v < lo[i]) lo[i] = v
    if (!(i in hi) || v > hi[i]) hi[i] = v
    sum[i] += v
  }
  phase[$col["phase"]]++
  rows++
}
function row(name, key, published, source,   i) {
  i = col[key]
  printf "| %s | %.1f | %.1f | %.1f | %s | %s |\n", name, lo[i], sum[i] / rows, hi[i], published, source
}
END {
  printf "%d quick CT cases (seed %d): %d arterial, %d pulmonary, %d venous phase\n\n", rows, seed, phase["arterial"], phase["pulmonary"], phase["venous"]
  print "| measure | min | mean | max | published | source |"
  print "|---|---|---|---|---|---|"
  row("LV cavity, LVBC (ml)", "LVBC_ml", "CT 113 +/- 26 (men), 98 +/- 21 (women); CMR 160 +/- 29, 135 +/- 26", "[K], [H]")
  row("LV myocardium, MLV (ml)", "MLV_ml", "138 +/- 28 (men), 103 +/- 19 (women): CT mass 145 / 108 g at 1.05 g/ml", "[K]")
  row("RV cavity, RVBC (ml)", "RVBC_ml", "190 +/- 33 (men), 148 +/- 35 (women)", "[H]")
  row("LA, LABC (ml)", "LABC_ml", "103 +/- 30 (men), 89 +/- 21 (women), maximal", "[H]")
  row("RA, RABC (ml)", "RABC_ml", "upper limit 85 / 73 ml/m^2 (men / women)", "[F]")
  row("ascending aorta, ASA (ml)", "ASA_ml", "(from its length and diameter)", "")
  row("pulmonary artery, PUA (ml)", "PUA_ml", "(from its length and diameter)", "")
  row("ascending aorta length, valve to arch (mm)", "ascending_length_mm", "about 50", "[G]")
  row("ascending aorta lumen diameter (mm)", "ascending_diameter_mm", "34.1 +/- 3.9 (men), 31.9 +/- 3.5 (women)", "[R]")
  row("aortic annulus lumen diameter, at the valve plane (mm)", "aortic_annulus_diameter_mm", "26 +/- 3 (men), 23 +/- 2 (women)", "[L]")
  row("aortic root lumen diameter at the sinuses (mm)", "aortic_sinus_diameter_mm", "34 +/- 3 (men), 30 +/- 3 (women)", "[L]")
  row("pulmonary valve centre, above the aortic valve centre (mm)", "pulmonary_valve_height_mm", "(no range cited; anterior, left and a little superior of the aortic valve, the infundibulum lifting it off the septum)", "[Rp], [AT]")
  row("arch lumen diameter (mm)", "arch_diameter_mm", "between ascending and descending", "[R]")
  row("descending aorta lumen diameter (mm)", "descending_diameter_mm", "24.4 +/- 3.5 below the arch", "[P]")
  row("pulmonary trunk length (mm)", "trunk_length_mm", "about 50", "[G]")
  row("pulmonary trunk diameter (mm)", "trunk_diameter_mm", "25.1 +/- 2.8; 90th percentile 28.9 (men), 26.9 (women)", "[T]")
  row("right pulmonary artery diameter (mm)", "rpa_diameter_mm", "16.6 +/- 2.8 (men), 14.7 +/- 2.2 (women)", "[B]")
  row("left pulmonary artery diameter (mm)", "lpa_diameter_mm", "17.3 +/- 2.5 (men), 15.9 +/- 2.0 (women)", "[B]")
  row("gap between the pulmonary trunk (and its right branch) and the aorta (mm; < 0: overlap)", "trunk_aorta_gap_mm", "(the roots lie side by side; 1 by design)", "")
  row("superior vena cava diameter (mm)", "svc_diameter_mm", "about 20", "[G]")
  row("inferior vena cava diameter (mm)", "ivc_diameter_mm", "about 20-25 at the atrium", "[G]")
  row("pulmonary vein diameter, mean of four (mm)", "pv_diameter_mm", "about 10-20 at the ostia", "[G]")
  row("gap between the pulmonary veins and the other vessels and the airway (mm; < 0: overlap)", "vein_clearance_mm", "(checked by the phantom itself)", "")
  row("trachea lumen diameter (mm)", "trachea_diameter_mm", "coronal 13-25 (men), 10-21 (women)", "[Br]")
  row("carina angle, between the main bronchi (degrees)", "carina_angle_deg", "60.8 +/- 11.8", "[Hg]")
  row("gap between the airway and the vessels (mm; < 0: overlap)", "airway_clearance_mm", "(checked by the phantom itself)", "")
  row("lungs, diaphragm to 15 cm above the hila (ml)", "lung_ml", "3705 +/- 857 (CT, whole lungs)", "[S]")
  row("pulmonary vessels in the lungs past the hila (ml)", "lung_vessels_ml", "125 +/- 32 (94-201), vessels of 0.6 mm and more", "[S]")
  row("left main coronary lumen diameter (mm)", "lm_diameter_mm", "4.5 +/- 0.5", "[D]")
  row("proximal left anterior descending lumen diameter (mm)", "lad_diameter_mm", "3.7 +/- 0.4", "[D]")
  row("proximal circumflex lumen diameter (mm)", "lcx_diameter_mm", "3.4 +/- 0.5 (right dominance)", "[D]")
  row("proximal right coronary lumen diameter (mm)", "rca_diameter_mm", "3.9 +/- 0.6 (right dominance)", "[D]")
  row("left main coronary length, ostium to its division (mm)", "lm_length_mm", "10.8 +/- 5.5 (2-23); 9.1 +/- 3.6", "[RP], [N1]")
  row("left anterior descending length, to the apex and in 3 of 4 cases 5-20 mm round it (mm)", "lad_length_mm", "(most reach the apex or run past it: 98 %)", "[N1]")
  row("circumflex length, to the posterolateral wall (mm)", "lcx_length_mm", "(most end at the left border or past it: 97 %)", "[N1]")
  row("right coronary length, ostium to the crux (mm)", "rca_length_mm", "122.5 +/- 17.8, ostium to its end (past the crux in 72 %)", "[N2]")
  row("posterior descending length, to 0.6 of the way to the apex (mm)", "pda_length_mm", "(the path down the inferior groove)", "")
  row("coronary branches: diagonals, obtuse and acute marginals (per case)", "coronary_branches", "(two diagonals, one or two obtuse marginals, one acute marginal)", "")
  row("coronary branches, length together (mm)", "coronary_branches_mm", "(each down its free wall toward the apex)", "")
  row("coronary centreline lying in the fat (%)", "coronary_shown_pct", "(checked by the phantom itself)", "")
  row("semilunar valves drawn closed (0 or 1; the mean is the share of cases)", "valves_closed", "(diastole; 0.7 by design)", "")
  row("mitral annulus, where LA meets LV (cm^2)", "mitral_area_cm2", "annulus 3.8 +/- 0.7 cm^2 per m^2 of body surface in late diastole (about 6-8); the valve itself opens 4-5", "[O], [V]")
  row("tricuspid orifice, open between RA and RV (cm^2)", "tricuspid_area_cm2", "normal valve area 5-8; 4.07 +/- 1.5 (0.6-7.2) by Doppler in the same subjects", "[V], [SM]")
  row("tricuspid orifice centre, apical of the mitral orifice plane along the LV long axis (mm; < 0: baseward)", "tricuspid_apical_mm", "about 10 (the tricuspid valve lies more apical than the mitral)", "[DH]")
  row("RV basal diameter, toward the tricuspid orifice (mm)", "rv_basal_diameter_mm", "33 +/- 4 (25-41), RV-focused four-chamber view", "[L]")
  row("RV mid-cavity diameter, halfway to its apex (mm)", "rv_mid_diameter_mm", "27 +/- 4 (19-35)", "[L]")
  row("LV internal diameter, a third of the way to the apex, through the axis toward the septum (mm)", "lv_diameter_mm", "LVIDd 50.2 +/- 4.1 (42.0-58.4) men, 45.0 +/- 3.6 (37.8-52.2) women", "[L]")
  row("LV cavity length, mitral orifice centre to the apex (mm)", "lv_length_mm", "(no range cited; generation 1: about 62-77, 1.2-1.3 times its diameter)", "")
  row("in-plane field of view (mm)", "fov_mm", "cardiac CT to whole chest", "")
}' "$OUT/data/phantom_facts.csv"
