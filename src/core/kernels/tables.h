// Private to the core: each SIMD translation unit exports exactly one function returning its
// kernel table; dispatch.cpp is the only caller.
#pragma once
#include "quiver/core/kernels.h"

namespace quiver::core::detail {

const KernelTable &scalar_table();

}  // namespace quiver::core::detail
