// Helpers shared by the core unit tests: the list of targets this machine can run, an RAII
// guard that restores the active target, and seeded random inputs. No assertions live here.
#pragma once
#include "quiver/core/half.h"
#include "quiver/core/kernels.h"

#include <cstdint>
#include <random>
#include <vector>

namespace quiver_test {

using quiver::core::KernelTable;
using quiver::core::SimdTarget;

inline const SimdTarget all_targets[] = {SimdTarget::scalar, SimdTarget::sse42, SimdTarget::avx2,
                                         SimdTarget::avx512};

// Every table compiled into this binary that the CPU and OS can run (scalar included).
inline std::vector<const KernelTable *> runnable_tables()
{
    std::vector<const KernelTable *> tables;
    for (SimdTarget t : all_targets)
        if (const KernelTable *table = quiver::core::kernels_for(t))
            tables.push_back(table);
    return tables;
}

// Tests that force a target put the default back, so test order never matters.
struct ActiveTargetRestorer {
    SimdTarget saved = quiver::core::kernels().target;
    ~ActiveTargetRestorer() { quiver::core::select_target(saved); }
};

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float &x : v)
        x = dist(rng);
    return v;
}

// Random float16 vectors with values in [lo, hi], stored as bits.
inline std::vector<std::uint16_t> random_halves(std::size_t n, std::uint32_t seed, float lo = -1.0f,
                                                float hi = 1.0f)
{
    std::vector<float> f = random_floats(n, seed, lo, hi);
    std::vector<std::uint16_t> h(n);
    for (std::size_t i = 0; i < n; ++i)
        h[i] = quiver::core::float_to_half(f[i]);
    return h;
}

inline std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed)
{
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (std::uint8_t &b : v)
        b = static_cast<std::uint8_t>(rng());
    return v;
}

}  // namespace quiver_test
