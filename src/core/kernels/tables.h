// Private to the core: each SIMD translation unit exports exactly one function returning its
// kernel table; dispatch.cpp is the only caller. The x86 tables exist only in x86-64 builds.
#pragma once
#include "quiver/core/kernels.h"

namespace quiver::core::detail {

const KernelTable &scalar_table();

#if defined(__x86_64__)
const KernelTable &sse42_table();   // SSE4.2 + POPCNT
const KernelTable &avx2_table();    // AVX2 + FMA + F16C + POPCNT
const KernelTable &avx512_table();  // AVX-512 F/DQ/BW/VL + VPOPCNTDQ + FMA + F16C
#endif

}  // namespace quiver::core::detail
