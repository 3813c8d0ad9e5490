// Scalar IEEE-754 binary16 <-> binary32 conversion, exact and portable (no F16C needed).
// Used by the scalar kernels, by the type I/O in the glue, and as the reference in tests.
#pragma once
#include "quiver/core/pure.h"

#include <cstdint>

namespace quiver::core {

// Exact: every binary16 value (incl. subnormals, +-0, +-inf) widens. NaNs keep sign and payload
// and come back quiet (a signalling NaN gets its quiet bit set, exactly as F16C does).
float half_to_float(std::uint16_t h) noexcept;

// Round-to-nearest-even. Finite values beyond the half range become +-inf; callers that must
// reject overflow compare isinf(result) with isinf(input). NaN stays NaN.
std::uint16_t float_to_half(float f) noexcept;

}  // namespace quiver::core
