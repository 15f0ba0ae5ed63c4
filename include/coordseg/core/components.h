// Connected components of label maps (6-connectivity), torch-free.
#pragma once

#include "coordseg/core/volume.h"

namespace coordseg {

// Keeps, for each class 1..num_classes-1, only its largest 6-connected component; the
// other components become background (0). Classes are values 0..num_classes-1.
void keep_largest_components(LabelVolume& classes, int num_classes);

}  // namespace coordseg
