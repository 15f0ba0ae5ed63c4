// A synthetic whole-heart CT/MR phantom, so that everything runs on a fresh machine without
// a download. Anatomy is built in world millimetres (RAS+) from smooth shapes: a thorax (body
// outline, subcutaneous fat, lungs, spine, ribs, mediastinum, pericardial fat) and a heart
// whose seven structures carry their MM-WHS label values: LV myocardium (205) around the LV
// cavity (500), RV (600) wrapping the septum, LA (420), RA (550), ascending aorta (820) and
// pulmonary artery (850). Every case varies with the seed: heart size, pose (long axis toward
// the left-anterior-inferior apex within ~15 degrees), chamber proportions, smooth
// deformation, contrast, noise, blur, spacing, voxel order (RAS or LPS) and field of view.
//
// Generation 2 (the default) follows real anatomy further: the aorta rises from its root,
// arches left-posterior with three branches and descends; the pulmonary trunk runs
// superior-posterior-left and divides under the arch (the right pulmonary artery behind the
// ascending aorta); the venae cavae, four pulmonary veins, coronary sinus, both appendages,
// papillary muscles and trabeculae, the oesophagus, trachea and main bronchi (the arch round
// the trachea's left, the right pulmonary artery in front of the right bronchus), diaphragm
// and liver, sternum and costal cartilages are drawn, the heart behind the sternum, with the
// pulmonary arteries and veins branching on inside the lungs, the coronary arteries and their
// branches in the epicardial fat, and in most cases closed aortic and pulmonary valves (thin
// cusps across the roots where LVBC meets ASA and RVBC meets PUA, in the intensity only); CT
// has contrast phases (arterial, pulmonary, venous) with inflow mixing in the right atrium,
// streaks beside dense contrast in the SVC and correlated noise; MR has coil shading and a
// thicker slice profile. Labelling convention: ASA is the aortic root and ascending aorta up
// to the start of the arch; PUA is the pulmonary trunk from its valve and the first 15-25 mm
// of each branch; LA includes its appendage and the first 5-10 mm of each pulmonary
// vein; RA includes its appendage; papillary muscles and trabeculae carry their cavity's
// label; everything else (arch, branches, descending aorta, venae cavae, coronary sinus,
// coronary arteries, the lungs' vessels) is blood with label 0, as in real label maps.
//
// Generation 1 is the phantom of the releases before: the same seed gives its exact voxels.
// CT is in HU (int16); MR is a bright-blood look in arbitrary units with a bias field and
// Rician noise. The same seed gives byte-identical files, whatever the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coordseg/core/volume.h"

namespace coordseg {

enum class PhantomPreset {
  kQuick,  // ~100-130 voxels a side at ~1.6-2 mm: CPU training in minutes
  kFull,   // MM-WHS CT-like: 512 x 512 x 180-300 at ~0.3-0.5 mm in-plane
};
enum class Modality { kCT, kMR };

struct PhantomOptions {
  int cases = 20;
  PhantomPreset preset = PhantomPreset::kQuick;
  Modality modality = Modality::kCT;
  uint64_t seed = 1;
  int threads = 0;  // 0: all hardware threads
  int generation = 2;  // 1: the phantom before great vessels, neighbours and contrast phases
  // CT, generation 2: blur the heart's edges in the cases that draw cardiac motion (about a
  // third). false draws the same cases without it (every other voxel as with it).
  bool motion = true;
};

// What was drawn for one case, for reports and tests.
struct PhantomFacts {
  std::string id;           // "ct_train_1001"
  std::string orientation;  // "RAS" or "LPS"
  bool fov_cut = false;     // the field of view cuts a vessel
  double blood_level = 0;   // HU (CT) or a.u. (MR) of the LV blood pool before noise
  // Generation 2: the contrast phase and what the vessels measure (centreline lengths and
  // lumen diameters, mm); 0 where generation 1 does not draw them.
  std::string phase;        // "arterial", "pulmonary", "venous" (CT), "ssfp" (MR)
  double fov_mm = 0;        // in-plane field of view
  double ascending_length = 0, ascending_diameter = 0;  // valve plane to the arch (ASA)
  double arch_diameter = 0, descending_diameter = 0;
  double trunk_length = 0, trunk_diameter = 0;          // pulmonary valve to the bifurcation
  double rpa_diameter = 0, lpa_diameter = 0;
  // The narrowest gap (mm) between the walls of the pulmonary trunk or its right branch and
  // the aorta's (the two roots lie side by side; negative where they would overlap).
  double trunk_aorta_gap = 0;
  double svc_diameter = 0, ivc_diameter = 0, pv_diameter = 0;  // pv: mean of the four
  // The narrowest gap (mm) between a pulmonary vein's wall, outside the LA, and any other
  // vessel's, the airway's included but not another vein's (negative where they overlap).
  double vein_clearance = 0;
  // The airway: the trachea's lumen diameter, the angle between the main bronchi at the
  // carina (degrees), and the narrowest gap (mm) between the airway's wall and any vessel's or
  // chamber's wall (negative: they overlap).
  double trachea_diameter = 0, carina_angle = 0, airway_clearance = 0;
  // The lungs from the diaphragm to 15 cm above the hila, and the lumen volume (ml) of the
  // pulmonary arteries and veins drawn inside them past the hila (unlabelled).
  double lung_ml = 0, lung_vessels_ml = 0;
  // The coronary arteries: lumen diameters at their start (left main; left anterior
  // descending, circumflex and right coronary proximally) and centreline lengths (mm; the
  // left main from its ostium, the right coronary to the crux, the posterior descending
  // artery on from there).
  double lm_diameter = 0, lad_diameter = 0, lcx_diameter = 0, rca_diameter = 0;
  double lm_length = 0, lad_length = 0, lcx_length = 0, rca_length = 0, pda_length = 0;
  // Their branches over the free walls (diagonals, obtuse and acute marginals): how many, and
  // their centrelines' length together (mm).
  int branches = 0;
  double branch_length = 0;
  // The aortic and pulmonary valves drawn closed (diastole; their cusps thin dark lines across
  // the roots). They open and close together.
  bool valves_closed = false;
  // The mitral and tricuspid orifices (cm2): what is open between atrium and ventricle.
  double mitral_area = 0, tricuspid_area = 0;
  // How far (mm) the tricuspid orifice's centre lies nearer the apex than the mitral orifice's
  // plane, along the LV's long axis (negative: nearer the base).
  double tricuspid_apical = 0;
  // The RV's cavity across (mm) toward the tricuspid orifice, as echocardiography measures it
  // in the RV-focused four-chamber view: the longest chord of RVBC perpendicular to the LV's
  // long axis within 15 degrees of the orifice's direction, in the basal third (from the
  // orifice's level to 20 mm apical of it) and halfway from there to the RV's apex.
  double rv_basal = 0, rv_mid = 0;
  // The LV's cavity: its length from the mitral orifice's centre to the apex, and its internal
  // diameter a third of the way down, through the axis toward the septum (mm).
  double lv_length = 0, lv_diameter = 0;
  // The aortic root's lumen diameter (mm) at the valve plane (the annulus) and at its sinuses.
  double annulus_diameter = 0, sinus_diameter = 0;
  // How far (mm) the pulmonary valve's centre lies above the aortic valve's (world height,
  // superior positive) and from it in all (generation 2).
  double pulmonary_valve_height = 0, pulmonary_valve_distance = 0;
  double coronary_shown_pct = 0;  // how much of their centrelines lies in fat, soft tissue or lung
  // CT: the heart's motion during the acquisition, as the sd (mm) of a blur along one
  // direction over the heart and its labelled vessels; 0 where the case has none.
  double motion_blur_mm = 0;
  // How much deeper (mm) the chest is than generation 1's: room for the trachea behind the
  // great vessels, and for the heart behind the sternum.
  double chest_deeper = 0;
};

struct PhantomCase {
  PhantomFacts facts;
  Volume image;        // HU for CT, arbitrary units for MR (integral values)
  LabelVolume labels;  // MM-WHS values, on the image's grid
};

// Case `index` (0-based) of the dataset that `options` describe. Deterministic.
PhantomCase make_phantom_case(const PhantomOptions& options, int index);

// The grid case `index` will have, without drawing its voxels (about 0.1 s for generation 2,
// which refits the chambers after the vessels carve them; for checks and planning).
Grid phantom_grid(const PhantomOptions& options, int index);

// The facts case `index` will have, without drawing its voxels (as phantom_grid costs).
PhantomFacts phantom_facts(const PhantomOptions& options, int index);

// "ct_train_1001" style names, as in MM-WHS (MR: "mr_train_1001").
std::string phantom_case_id(Modality modality, int index);

// Writes DIR/ct_train/ct_train_1001_image.nii.gz and _label.nii.gz for every case (mr_train
// for MR) and an nnU-Net style DIR/dataset.json. A folder that already holds files is
// refused (usage error naming `out_dir`) unless `force`. `progress` is called per case.
void write_phantom_dataset(const std::string& out_dir, const PhantomOptions& options, bool force,
                           const std::function<void(const PhantomFacts&, const Grid&, double seconds)>& progress = {});

// Per-structure volumes (ml) of a label map in MM-WHS values, in the order of LabelMap::mmwhs().
std::vector<double> structure_volumes_ml(const LabelVolume& labels);

// The facts of every case as CSV (one header line, then a line per case: the facts above and
// each structure's volume in ml). `write_phantom_dataset` writes it as phantom_facts.csv.
std::string phantom_facts_csv_header();
std::string phantom_facts_csv_row(const PhantomFacts& facts, const std::vector<double>& volumes_ml);

int parse_generation(int generation, const std::string& option = "--generation");

PhantomPreset parse_preset(const std::string& name, const std::string& option = "--preset");
Modality parse_modality(const std::string& name, const std::string& option = "--modality");

}  // namespace coordseg
