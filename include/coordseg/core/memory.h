// Memory the process can still use, and the up-front refusal of work that cannot fit: a
// size asked for is compared with what is available before anything is allocated, so a
// too-large patch or volume is one clear line instead of a crash halfway through.
#pragma once

#include <cstdint>
#include <string>

#include "coordseg/core/error.h"

namespace coordseg {

// MemAvailable from /proc/meminfo, capped by the address-space limit (ulimit -v) when one is
// set; a large number when neither is known.
uint64_t available_memory_bytes();

// Throws `kind` naming `subject`: "<subject>: <what> needs 41.2 GiB, more than the 20.1 GiB
// of available memory". `bytes` is a double so that absurd sizes cannot overflow.
void check_memory(double bytes, ErrorKind kind, const std::string& subject, const std::string& what);

}  // namespace coordseg
