// Portable, seedable randomness: SplitMix64. The same seed gives the same numbers on every
// platform and standard library (std:: distributions do not promise that), which is what
// byte-identical phantoms and exactly resumable training need.
#pragma once

#include <cmath>
#include <cstdint>

namespace coordseg {

// The SplitMix64 output function: a strong 64-bit mix of z.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Random {
 public:
  explicit Random(uint64_t seed) : state_(mix64(seed)) {}
  uint64_t next() { return mix64(state_++); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t integer(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(uniform() * static_cast<double>(hi - lo + 1));
  }
  bool chance(double p) { return p > 0 && uniform() < p; }
  double normal() {
    const double u = uniform();
    const double u1 = u > 0 ? u : 1e-300, u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  uint64_t state_;
};

// A 64-bit seed for (base, a, b, c): stable mixing of counters, so that a batch, a patch or
// a validation patch is a pure function of the run's SEED and its own indices.
inline uint64_t derive_seed(uint64_t base, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  return mix64(mix64(mix64(mix64(base) ^ a) ^ b) ^ c);
}

}  // namespace coordseg
