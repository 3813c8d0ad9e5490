// For the x86 kernel translation units only: the least and largest of four floats held in two
// SSE registers, folded across lanes (fast-scan table ranges end here on every target). In an
// anonymous namespace, as everything compiled per target must be (see simd_kernels.hpp).
#pragma once
#if !defined(QUIVER_SIMD_TARGET_TU)
#error "fold128.h is only for the per-target kernel translation units"
#endif

#include <xmmintrin.h>

namespace quiver::core::detail {
namespace {

inline void fold_min_max(__m128 mn, __m128 mx, float *lo, float *hi)
{
    mn = _mm_min_ps(mn, _mm_movehl_ps(mn, mn));
    mx = _mm_max_ps(mx, _mm_movehl_ps(mx, mx));
    *lo = _mm_cvtss_f32(_mm_min_ss(mn, _mm_shuffle_ps(mn, mn, 1)));
    *hi = _mm_cvtss_f32(_mm_max_ss(mx, _mm_shuffle_ps(mx, mx, 1)));
}

}  // namespace
}  // namespace quiver::core::detail
