// Chooses the kernel table once: the best target that this binary compiled and that the CPU
// (CPUID) and the operating system (XGETBV: saved register state) both support.
#include "quiver/core/kernels.h"
#include "kernels/tables.h"  // src/core/kernels

#include <atomic>
#include <cstring>

namespace quiver::core {
namespace {

std::atomic<const KernelTable *> active{nullptr};

}  // namespace

SimdTarget best_supported_target() { return SimdTarget::scalar; }

bool target_compiled(SimdTarget t) { return t == SimdTarget::scalar; }

const KernelTable *kernels_for(SimdTarget t)
{
    if (t == SimdTarget::scalar)
        return &detail::scalar_table();
    return nullptr;
}

const KernelTable &kernels()
{
    const KernelTable *t = active.load(std::memory_order_acquire);
    if (t == nullptr) {
        t = kernels_for(best_supported_target());
        active.store(t, std::memory_order_release);
    }
    return *t;
}

bool select_target(SimdTarget t)
{
    const KernelTable *table = kernels_for(t);
    if (table == nullptr)
        return false;
    active.store(table, std::memory_order_release);
    return true;
}

const char *target_name(SimdTarget t)
{
    switch (t) {
    case SimdTarget::scalar: return "scalar";
    case SimdTarget::sse42: return "sse4.2";
    case SimdTarget::avx2: return "avx2";
    case SimdTarget::avx512: return "avx512";
    }
    return "unknown";
}

bool parse_target(const char *name, SimdTarget *out)
{
    static const struct { const char *name; SimdTarget target; } names[] = {
        {"scalar", SimdTarget::scalar}, {"sse4.2", SimdTarget::sse42}, {"sse42", SimdTarget::sse42},
        {"avx2", SimdTarget::avx2},     {"avx512", SimdTarget::avx512},
    };
    for (const auto &n : names) {
        if (std::strcmp(name, n.name) == 0) {
            *out = n.target;
            return true;
        }
    }
    return false;
}

}  // namespace quiver::core
