// Chooses the kernel table once: the best target that this binary compiled and that the CPU
// (CPUID) and the operating system (XGETBV: saved register state) both support.
// Compiled for the base ISA; it must never hand out a table before those checks passed.
#include "quiver/core/kernels.h"
#include "kernels/tables.h"  // src/core/kernels

#include <atomic>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace quiver::core {
namespace {

std::atomic<const KernelTable *> active{nullptr};

#if defined(__x86_64__)

// What the CPU offers *and* the operating system saves on a context switch. Without the XCR0
// check an AVX-512 CPU under an OS (or hypervisor) that does not enable ZMM state would fault.
struct CpuSupport {
    bool sse42 = false;
    bool avx2 = false;
    bool avx512 = false;
    bool avx512_vpopcntdq = false;
};

constexpr std::uint64_t xcr0_sse_ymm = 0x6;              // XMM and YMM upper halves
constexpr std::uint64_t xcr0_sse_ymm_zmm_opmask = 0xe6;  // plus opmask, ZMM0-15 upper, ZMM16-31

std::uint64_t read_xcr0()
{
    // The xgetbv intrinsic would need -mxsave for this file; the instruction itself is safe
    // once CPUID has reported OSXSAVE.
    std::uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

CpuSupport detect_cpu_support()
{
    CpuSupport s;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return s;
    const bool sse41 = ecx & bit_SSE4_1;
    const bool sse42 = ecx & bit_SSE4_2;
    const bool popcnt = ecx & bit_POPCNT;
    const bool osxsave = ecx & bit_OSXSAVE;
    const bool avx = ecx & bit_AVX;
    const bool fma = ecx & bit_FMA;
    const bool f16c = ecx & bit_F16C;

    unsigned ebx7 = 0, ecx7 = 0;
    if (__get_cpuid_max(0, nullptr) >= 7) {
        unsigned eax7 = 0, edx7 = 0;
        __cpuid_count(7, 0, eax7, ebx7, ecx7, edx7);
    }
    const bool avx2 = ebx7 & bit_AVX2;
    const bool avx512 = (ebx7 & bit_AVX512F) && (ebx7 & bit_AVX512DQ) && (ebx7 & bit_AVX512BW) &&
                        (ebx7 & bit_AVX512VL);

    const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool os_ymm = (xcr0 & xcr0_sse_ymm) == xcr0_sse_ymm;
    const bool os_zmm = (xcr0 & xcr0_sse_ymm_zmm_opmask) == xcr0_sse_ymm_zmm_opmask;

    s.sse42 = sse41 && sse42 && popcnt;
    s.avx2 = s.sse42 && avx && avx2 && fma && f16c && os_ymm;
    s.avx512 = s.avx2 && avx512 && os_zmm;
    s.avx512_vpopcntdq = s.avx512 && (ecx7 & bit_AVX512VPOPCNTDQ);
    return s;
}

const CpuSupport &cpu_support()
{
    static const CpuSupport support = detect_cpu_support();
    return support;
}

// AVX-512 CPUs without VPOPCNTDQ (Skylake-X, Cascade Lake) still get the 512-bit float
// kernels; only their bit kernels come from the AVX2 file, which never uses VPOPCNTQ.
const KernelTable &avx512_table_without_vpopcntdq()
{
    static const KernelTable mixed = [] {
        KernelTable t = detail::avx512_table();
        const KernelTable &narrow = detail::avx2_table();
        t.hamming_bits = narrow.hamming_bits;
        t.jaccard_bits = narrow.jaccard_bits;
        t.hamming_bits_batch = narrow.hamming_bits_batch;
        return t;
    }();
    return mixed;
}

#endif  // __x86_64__

}  // namespace

SimdTarget best_supported_target() noexcept
{
#if defined(__x86_64__)
    const CpuSupport &s = cpu_support();
    if (s.avx512)
        return SimdTarget::avx512;
    if (s.avx2)
        return SimdTarget::avx2;
    if (s.sse42)
        return SimdTarget::sse42;
#endif
    return SimdTarget::scalar;
}

bool target_compiled(SimdTarget t) noexcept
{
#if defined(__x86_64__)
    return t == SimdTarget::scalar || t == SimdTarget::sse42 || t == SimdTarget::avx2 ||
           t == SimdTarget::avx512;
#else
    return t == SimdTarget::scalar;
#endif
}

const KernelTable *kernels_for(SimdTarget t) noexcept
{
    if (t == SimdTarget::scalar)
        return &detail::scalar_table();
#if defined(__x86_64__)
    const CpuSupport &s = cpu_support();
    switch (t) {
    case SimdTarget::sse42: return s.sse42 ? &detail::sse42_table() : nullptr;
    case SimdTarget::avx2: return s.avx2 ? &detail::avx2_table() : nullptr;
    case SimdTarget::avx512:
        if (!s.avx512)
            return nullptr;
        return s.avx512_vpopcntdq ? &detail::avx512_table() : &avx512_table_without_vpopcntdq();
    case SimdTarget::scalar: break;
    }
#endif
    return nullptr;
}

const KernelTable &kernels() noexcept
{
    const KernelTable *t = active.load(std::memory_order_acquire);
    if (t == nullptr) {
        t = kernels_for(best_supported_target());
        active.store(t, std::memory_order_release);
    }
    return *t;
}

bool select_target(SimdTarget t) noexcept
{
    const KernelTable *table = kernels_for(t);
    if (table == nullptr)
        return false;
    active.store(table, std::memory_order_release);
    return true;
}

const char *target_name(SimdTarget t) noexcept
{
    switch (t) {
    case SimdTarget::scalar: return "scalar";
    case SimdTarget::sse42: return "sse4.2";
    case SimdTarget::avx2: return "avx2";
    case SimdTarget::avx512: return "avx512";
    }
    return "unknown";
}

bool parse_target(const char *name, SimdTarget *out) noexcept
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
