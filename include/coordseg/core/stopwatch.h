// Wall-clock time for the figures the tool prints (epochs, phases, benchmarks): a monotonic
// clock, read in seconds.
#pragma once

#include <chrono>

namespace coordseg {

using Clock = std::chrono::steady_clock;

// Seconds since `t0`.
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Seconds since `t`, and `t` moved to now: consecutive phases.
inline double lap(Clock::time_point& t) {
  const auto now = Clock::now();
  const double s = std::chrono::duration<double>(now - t).count();
  t = now;
  return s;
}

}  // namespace coordseg
