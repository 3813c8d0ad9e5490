// Target selection: names and parsing, what the CPU can run (cross-checked with libgcc's own
// CPUID/XGETBV detection), refusing unsupported targets, and the default table.
// Every test that changes the active target restores it.
#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>

using namespace quiver_test;
namespace core = quiver::core;

BOOST_AUTO_TEST_SUITE(dispatch)

BOOST_AUTO_TEST_CASE(target_names_round_trip)
{
    for (SimdTarget t : all_targets) {
        SimdTarget parsed = SimdTarget::scalar;
        BOOST_TEST(core::parse_target(core::target_name(t), &parsed));
        BOOST_TEST(static_cast<int>(parsed) == static_cast<int>(t));
    }
    SimdTarget parsed = SimdTarget::scalar;
    BOOST_TEST(core::parse_target("sse42", &parsed));
    BOOST_TEST(static_cast<int>(parsed) == static_cast<int>(SimdTarget::sse42));
    BOOST_TEST(std::string(core::target_name(SimdTarget::sse42)) == "sse4.2");
}

BOOST_AUTO_TEST_CASE(parse_rejects_unknown_names)
{
    for (const char *bad : {"", "AVX2", "avx", "avx512f", "sse4", "neon", "scalar "}) {
        SimdTarget out = SimdTarget::avx2;
        BOOST_TEST(!core::parse_target(bad, &out), "accepted '" << bad << "'");
        BOOST_TEST(static_cast<int>(out) == static_cast<int>(SimdTarget::avx2));  // untouched
    }
}

BOOST_AUTO_TEST_CASE(default_table_is_the_best_supported_target)
{
    SimdTarget best = core::best_supported_target();
    BOOST_TEST(static_cast<int>(core::kernels().target) == static_cast<int>(best));
    BOOST_TEST(&core::kernels() == core::kernels_for(best));
    BOOST_TEST_MESSAGE("best supported target: " << core::target_name(best));
}

BOOST_AUTO_TEST_CASE(supported_targets_are_consistent)
{
    SimdTarget best = core::best_supported_target();
    BOOST_TEST(core::target_compiled(SimdTarget::scalar));
    for (SimdTarget t : all_targets) {
        const KernelTable *table = core::kernels_for(t);
        bool runnable = table != nullptr;
        // Everything up to the best target runs; nothing above it does.
        BOOST_TEST(runnable == (static_cast<int>(t) <= static_cast<int>(best)),
                   core::target_name(t));
        if (runnable) {
            BOOST_TEST(core::target_compiled(t));
            BOOST_TEST(static_cast<int>(table->target) == static_cast<int>(t));
            BOOST_TEST(std::strcmp(table->name, core::target_name(t)) == 0);
        }
    }
}

#if defined(__x86_64__)
BOOST_AUTO_TEST_CASE(cpu_detection_agrees_with_libgcc)
{
    __builtin_cpu_init();
    bool sse42 = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt");
    bool avx2 = sse42 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                __builtin_cpu_supports("f16c");
    bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    BOOST_TEST((core::kernels_for(SimdTarget::sse42) != nullptr) == sse42);
    BOOST_TEST((core::kernels_for(SimdTarget::avx2) != nullptr) == avx2);
    BOOST_TEST((core::kernels_for(SimdTarget::avx512) != nullptr) == avx512);
    BOOST_TEST(core::target_compiled(SimdTarget::avx512));
}
#endif

BOOST_AUTO_TEST_CASE(select_target_switches_and_refuses)
{
    ActiveTargetRestorer restore;
    for (SimdTarget t : all_targets) {
        const KernelTable *table = core::kernels_for(t);
        const KernelTable *before = &core::kernels();
        bool selected = core::select_target(t);
        BOOST_TEST(selected == (table != nullptr), core::target_name(t));
        BOOST_TEST(&core::kernels() == (selected ? table : before));
    }
    // A value outside the enum is never runnable and leaves the active table alone.
    const KernelTable *before = &core::kernels();
    BOOST_TEST(!core::select_target(static_cast<SimdTarget>(42)));
    BOOST_TEST(core::kernels_for(static_cast<SimdTarget>(42)) == nullptr);
    BOOST_TEST(&core::kernels() == before);
}

BOOST_AUTO_TEST_CASE(selection_is_restored_after_tests)
{
    {
        ActiveTargetRestorer restore;
        BOOST_TEST(core::select_target(SimdTarget::scalar));
        BOOST_TEST(static_cast<int>(core::kernels().target) == 0);
    }
    BOOST_TEST(static_cast<int>(core::kernels().target) ==
               static_cast<int>(core::best_supported_target()));
}

BOOST_AUTO_TEST_SUITE_END()
