// Kernel micro-benchmark: ns per distance for every target this CPU runs, on a cache-resident
// ("hot") and a far-larger-than-cache ("cold", random order) working set, and -- when built with
// QUIVER_WITH_FAISS -- FAISS's own functions in the same run. A report, never a pass/fail test.
// Cold accesses are independent of each other, so the CPU may overlap several misses.
//
// Usage: kernel_bench [--targets=all|best] [--sets=both|hot|cold] [--cold-mib=N] [--quick]
#include "quiver/core/half.h"
#include "quiver/core/kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <sys/mman.h>

#if defined(QUIVER_WITH_FAISS)
#include <faiss/impl/ScalarQuantizer.h>
#include <faiss/utils/distances.h>
// FAISS's Hamming code is inline, so it is compiled here; give it POPCNT as FAISS's own x86
// builds do (Debian's libfaiss does not), or GCC calls its slow generic popcount instead.
#pragma GCC push_options
#pragma GCC target("popcnt")
#include <faiss/utils/hamming.h>
#pragma GCC pop_options
#endif

namespace core = quiver::core;
using core::half_bits;
using core::KernelTable;
using core::SimdTarget;

namespace {

struct Options {
    bool all_targets = true;
    bool hot = true;
    bool cold = true;
    std::size_t cold_mib = 1024;
    double run_ms = 3.0;
    int runs = 5;
};

enum class Element { f32, f16, bits };

enum class Kernel {
    l2sq_f32,
    dot_f32,
    cosine_f32,
    l1_f32,
    norm_sq_f32,
    l2sq_f32_batch,
    dot_f32_batch,
    l2sq_f16,
    dot_f16,
    cosine_f16,
    l1_f16,
    norm_sq_f16,
    l2sq_f16_batch,
    dot_f16_batch,
    hamming,
    jaccard,
    hamming_batch,
};

struct KernelInfo {
    Kernel kernel;
    const char *name;
    Element element;
    bool batch;
    const char *faiss;  // FAISS counterpart, or nullptr
};

const KernelInfo kernel_infos[] = {
    {Kernel::l2sq_f32, "l2sq_f32", Element::f32, false, "fvec_L2sqr"},
    {Kernel::dot_f32, "dot_f32", Element::f32, false, "fvec_inner_product"},
    {Kernel::cosine_f32, "cosine_f32", Element::f32, false, "fvec_inner_product + fvec_norm_L2sqr"},
    {Kernel::l1_f32, "l1_f32", Element::f32, false, "fvec_L1"},
    {Kernel::norm_sq_f32, "norm_sq_f32", Element::f32, false, "fvec_norm_L2sqr"},
    {Kernel::l2sq_f32_batch, "l2sq_f32_batch16", Element::f32, true, "fvec_L2sqr_by_idx"},
    {Kernel::dot_f32_batch, "dot_f32_batch16", Element::f32, true, "fvec_inner_products_by_idx"},
    {Kernel::l2sq_f16, "l2sq_f16", Element::f16, false, "SQ QT_fp16 query_to_code (L2)"},
    {Kernel::dot_f16, "dot_f16", Element::f16, false, "SQ QT_fp16 query_to_code (IP)"},
    {Kernel::cosine_f16, "cosine_f16", Element::f16, false, nullptr},
    {Kernel::l1_f16, "l1_f16", Element::f16, false, nullptr},
    {Kernel::norm_sq_f16, "norm_sq_f16", Element::f16, false, nullptr},
    {Kernel::l2sq_f16_batch, "l2sq_f16_batch16", Element::f16, true, nullptr},
    {Kernel::dot_f16_batch, "dot_f16_batch16", Element::f16, true, nullptr},
    {Kernel::hamming, "hamming", Element::bits, false, "HammingComputerDefault / hamming()"},
    {Kernel::jaccard, "jaccard", Element::bits, false, nullptr},
    {Kernel::hamming_batch, "hamming_batch16", Element::bits, true, nullptr},
};

// ---------------------------------------------------------------------------------------------
// Working sets. Vectors sit at a fixed stride in one buffer; an op reads the query (always hot)
// and the vector(s) the access pattern picks.

struct AlignedBuffer {
    std::unique_ptr<std::uint8_t, decltype(&std::free)> bytes{nullptr, &std::free};
    std::size_t size = 0;
    // Huge pages where the kernel allows them, so the cold set measures cache misses rather
    // than page walks on every access.
    explicit AlignedBuffer(std::size_t n)
        : bytes(static_cast<std::uint8_t *>(std::aligned_alloc(huge_page, round_up(n))),
                &std::free),
          size(n)
    {
        if (!bytes) {
            std::fprintf(stderr, "out of memory allocating %zu bytes\n", n);
            std::exit(1);
        }
        madvise(bytes.get(), round_up(n), MADV_HUGEPAGE);
    }
    static constexpr std::size_t huge_page = 2 * 1024 * 1024;
    static std::size_t round_up(std::size_t n)
    {
        return (n + huge_page - 1) / huge_page * huge_page;
    }
    std::uint8_t *data() const { return bytes.get(); }
};

std::uint64_t splitmix64(std::uint64_t &state)
{
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Values of the element type that never produce denormals (whose microcode assists would
// measure the CPU, not the kernel): floats in +-[0.5, 1), halves in +-[1, 2), bits random.
void fill(std::uint8_t *p, std::size_t nbytes, Element e, std::uint64_t seed)
{
    std::uint64_t state = seed;
    for (std::size_t i = 0; i + 8 <= nbytes; i += 8) {
        std::uint64_t r = splitmix64(state);
        if (e == Element::f32)
            r = (r & 0x807fffff807fffffull) | 0x3f0000003f000000ull;
        else if (e == Element::f16)
            r = (r & 0x83ff83ff83ff83ffull) | 0x3c003c003c003c00ull;
        std::memcpy(p + i, &r, 8);
    }
}

// Which vector op number i reads. Hot: cycle through a few KiB. Cold: random indices into a
// buffer far larger than the caches; the cursor keeps moving across measurements so a run never
// re-reads what the previous one just pulled into cache.
struct AccessPattern {
    const std::uint8_t *base = nullptr;
    std::size_t stride = 0;
    std::size_t count = 0;
    const std::uint32_t *random = nullptr;  // null: cyclic
    std::size_t random_mask = 0;

    std::size_t index(std::size_t op) const
    {
        return random ? random[op & random_mask] : op % count;
    }
    const std::uint8_t *vector(std::size_t op) const { return base + index(op) * stride; }
};

struct RandomIndices {
    std::vector<std::uint32_t> indices = std::vector<std::uint32_t>(std::size_t{1} << 22);
    std::size_t built_for = 0;
    std::size_t cursor = 0;
    void build(std::size_t count)
    {
        std::uint64_t state = count;
        for (auto &i : indices)
            i = static_cast<std::uint32_t>(splitmix64(state) % count);
        built_for = count;
    }
};

// ---------------------------------------------------------------------------------------------
// Timing: warm-up (which also sizes the runs), then `runs` runs of about run_ms each; the
// median ns per op is reported. The op is a template parameter so the only call left in the
// loop is the kernel's own (through the table, as the glue calls it; or FAISS's function).

volatile double sink;

template <class Op>
double time_ops(const Op &op, const AccessPattern &p, std::size_t first, std::size_t ops)
{
    double acc = 0;
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = first; i < first + ops; ++i)
        acc += op(p, i);
    auto stop = std::chrono::steady_clock::now();
    sink = acc;
    return std::chrono::duration<double, std::nano>(stop - start).count();
}

template <class Op>
double measure(const Op &op, const AccessPattern &p, std::size_t *cursor, const Options &opt)
{
    std::size_t next = *cursor;
    double probe_ns = 0;
    for (int i = 0; i < 3; ++i, next += 64)
        probe_ns = time_ops(op, p, next, 64);
    double per_op = std::max(probe_ns / 64.0, 0.5);
    std::size_t ops =
        std::max<std::size_t>(static_cast<std::size_t>(opt.run_ms * 1e6 / per_op), 256);
    time_ops(op, p, next, ops);  // warm-up at full length
    next += ops;

    std::vector<double> ns_per_op;
    for (int r = 0; r < opt.runs; ++r, next += ops)
        ns_per_op.push_back(time_ops(op, p, next, ops) / static_cast<double>(ops));
    *cursor = next;
    std::sort(ns_per_op.begin(), ns_per_op.end());
    return ns_per_op[ns_per_op.size() / 2];
}

// ---------------------------------------------------------------------------------------------
// One measurement of quiver's kernel `k` through table `t`.

constexpr std::size_t batch_size = 16;

// A batch op takes 16 vectors of the pattern, spread out so that cold batches miss cache.
template <class T> void batch_pointers(const AccessPattern &p, std::size_t op, const T **xs)
{
    for (std::size_t j = 0; j < batch_size; ++j)
        xs[j] = reinterpret_cast<const T *>(p.vector(op * batch_size + j * 7919));
}

double measure_quiver(Kernel k, const KernelTable &t, const std::uint8_t *query, std::size_t dim,
                      const AccessPattern &p, std::size_t *cursor, const Options &opt)
{
    const float *qf = reinterpret_cast<const float *>(query);
    const half_bits *qh = reinterpret_cast<const half_bits *>(query);
    const std::size_t nbytes = dim / 8;
    auto f32 = [](const AccessPattern &ap, std::size_t i) {
        return reinterpret_cast<const float *>(ap.vector(i));
    };
    auto f16 = [](const AccessPattern &ap, std::size_t i) {
        return reinterpret_cast<const half_bits *>(ap.vector(i));
    };
    switch (k) {
    case Kernel::l2sq_f32:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.l2sq_f32(qf, f32(ap, i), dim); },
            p, cursor, opt);
    case Kernel::dot_f32:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.dot_f32(qf, f32(ap, i), dim); },
            p, cursor, opt);
    case Kernel::cosine_f32:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) {
                core::CosineParts c = t.cosine_f32(qf, f32(ap, i), dim);
                return c.dot + c.norm_a + c.norm_b;
            },
            p, cursor, opt);
    case Kernel::l1_f32:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.l1_f32(qf, f32(ap, i), dim); },
            p, cursor, opt);
    case Kernel::norm_sq_f32:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.norm_sq_f32(f32(ap, i), dim); },
            p, cursor, opt);
    case Kernel::l2sq_f16:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.l2sq_f16(qh, f16(ap, i), dim); },
            p, cursor, opt);
    case Kernel::dot_f16:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.dot_f16(qh, f16(ap, i), dim); },
            p, cursor, opt);
    case Kernel::cosine_f16:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) {
                core::CosineParts c = t.cosine_f16(qh, f16(ap, i), dim);
                return c.dot + c.norm_a + c.norm_b;
            },
            p, cursor, opt);
    case Kernel::l1_f16:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.l1_f16(qh, f16(ap, i), dim); },
            p, cursor, opt);
    case Kernel::norm_sq_f16:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) { return t.norm_sq_f16(f16(ap, i), dim); },
            p, cursor, opt);
    case Kernel::hamming:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) {
                return static_cast<double>(t.hamming_bits(query, ap.vector(i), nbytes));
            },
            p, cursor, opt);
    case Kernel::jaccard:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) {
                core::JaccardCounts c = t.jaccard_bits(query, ap.vector(i), nbytes);
                return static_cast<double>(c.both + c.a_count + c.b_count);
            },
            p, cursor, opt);
    case Kernel::l2sq_f32_batch:
    case Kernel::dot_f32_batch: {
        auto fn = k == Kernel::l2sq_f32_batch ? t.l2sq_f32_batch : t.dot_f32_batch;
        return measure(
                   [&](const AccessPattern &ap, std::size_t i) {
                       const float *xs[batch_size];
                       float out[batch_size];
                       batch_pointers(ap, i, xs);
                       fn(qf, xs, batch_size, dim, out);
                       return out[0] + out[batch_size - 1];
                   },
                   p, cursor, opt) /
               batch_size;
    }
    case Kernel::l2sq_f16_batch:
    case Kernel::dot_f16_batch: {
        auto fn = k == Kernel::l2sq_f16_batch ? t.l2sq_f16_batch : t.dot_f16_batch;
        return measure(
                   [&](const AccessPattern &ap, std::size_t i) {
                       const half_bits *xs[batch_size];
                       float out[batch_size];
                       batch_pointers(ap, i, xs);
                       fn(qh, xs, batch_size, dim, out);
                       return out[0] + out[batch_size - 1];
                   },
                   p, cursor, opt) /
               batch_size;
    }
    case Kernel::hamming_batch:
        return measure(
                   [&](const AccessPattern &ap, std::size_t i) {
                       const std::uint8_t *xs[batch_size];
                       std::uint64_t out[batch_size];
                       batch_pointers(ap, i, xs);
                       t.hamming_bits_batch(query, xs, batch_size, nbytes, out);
                       return static_cast<double>(out[0] + out[batch_size - 1]);
                   },
                   p, cursor, opt) /
               batch_size;
    }
    return -1;
}

// ---------------------------------------------------------------------------------------------
// FAISS's counterpart of kernel `k`, or -1 when FAISS has none (or is not linked).

#if defined(QUIVER_WITH_FAISS)
double measure_faiss(Kernel k, const std::uint8_t *query, std::size_t dim, const AccessPattern &p,
                     std::size_t *cursor, const Options &opt)
{
    const float *qf = reinterpret_cast<const float *>(query);
    auto f32 = [](const AccessPattern &ap, std::size_t i) {
        return reinterpret_cast<const float *>(ap.vector(i));
    };
    switch (k) {
    case Kernel::l2sq_f32:
        return measure([&](const AccessPattern &ap,
                           std::size_t i) { return faiss::fvec_L2sqr(qf, f32(ap, i), dim); },
                       p, cursor, opt);
    case Kernel::dot_f32:
        return measure(
            [&](const AccessPattern &ap, std::size_t i) {
                return faiss::fvec_inner_product(qf, f32(ap, i), dim);
            },
            p, cursor, opt);
    case Kernel::cosine_f32:
        // FAISS has no cosine kernel. The same answer costs the inner product plus the
        // candidate's norm (the query norm is computed once per search).
        return measure(
            [&](const AccessPattern &ap, std::size_t i) {
                const float *x = f32(ap, i);
                return faiss::fvec_inner_product(qf, x, dim) + faiss::fvec_norm_L2sqr(x, dim);
            },
            p, cursor, opt);
    case Kernel::l1_f32:
        return measure([&](const AccessPattern &ap,
                           std::size_t i) { return faiss::fvec_L1(qf, f32(ap, i), dim); },
                       p, cursor, opt);
    case Kernel::norm_sq_f32:
        return measure([&](const AccessPattern &ap,
                           std::size_t i) { return faiss::fvec_norm_L2sqr(f32(ap, i), dim); },
                       p, cursor, opt);
    case Kernel::l2sq_f32_batch:
    case Kernel::dot_f32_batch: {
        bool l2 = k == Kernel::l2sq_f32_batch;
        const float *y = reinterpret_cast<const float *>(p.base);
        return measure(
                   [&](const AccessPattern &ap, std::size_t i) {
                       std::int64_t ids[batch_size];
                       float out[batch_size];
                       for (std::size_t j = 0; j < batch_size; ++j)
                           ids[j] = static_cast<std::int64_t>(ap.index(i * batch_size + j * 7919));
                       if (l2)
                           faiss::fvec_L2sqr_by_idx(out, qf, y, ids, dim, 1, batch_size);
                       else
                           faiss::fvec_inner_products_by_idx(out, qf, y, ids, dim, 1, batch_size);
                       return out[0] + out[batch_size - 1];
                   },
                   p, cursor, opt) /
               batch_size;
    }
    case Kernel::l2sq_f16:
    case Kernel::dot_f16: {
        // FAISS stores float16 as ScalarQuantizer QT_fp16 codes (IEEE binary16) and scans them
        // with a float32 query, as IndexScalarQuantizer's search does.
        faiss::ScalarQuantizer sq(dim, faiss::ScalarQuantizer::QT_fp16);
        std::unique_ptr<faiss::ScalarQuantizer::SQDistanceComputer> dc(sq.get_distance_computer(
            k == Kernel::l2sq_f16 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT));
        std::vector<float> query_f32(dim);
        for (std::size_t i = 0; i < dim; ++i)
            query_f32[i] = core::half_to_float(reinterpret_cast<const half_bits *>(query)[i]);
        dc->set_query(query_f32.data());
        faiss::ScalarQuantizer::SQDistanceComputer *computer = dc.get();
        return measure([&](const AccessPattern &ap,
                           std::size_t i) { return computer->query_to_code(ap.vector(i)); },
                       p, cursor, opt);
    }
    case Kernel::hamming: {
        // Both of FAISS's generic-length Hamming forms; the faster one counts.
        int nbytes = static_cast<int>(dim / 8);
        faiss::HammingComputerDefault hc(query, nbytes);
        double by_computer =
            measure([&](const AccessPattern &ap,
                        std::size_t i) { return static_cast<double>(hc.hamming(ap.vector(i))); },
                    p, cursor, opt);
        double by_words = measure(
            [&](const AccessPattern &ap, std::size_t i) {
                return static_cast<double>(faiss::hamming(
                    reinterpret_cast<const std::uint64_t *>(query),
                    reinterpret_cast<const std::uint64_t *>(ap.vector(i)), dim / 64));
            },
            p, cursor, opt);
        return std::min(by_computer, by_words);
    }
    default:
        return -1;
    }
}
#else
double measure_faiss(Kernel, const std::uint8_t *, std::size_t, const AccessPattern &,
                     std::size_t *, const Options &)
{
    return -1;
}
#endif

// ---------------------------------------------------------------------------------------------

std::string cpu_model()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0)
            return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

Options parse_options(int argc, char **argv)
{
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--targets=best")
            opt.all_targets = false;
        else if (a == "--targets=all")
            opt.all_targets = true;
        else if (a == "--sets=hot")
            opt.cold = false;
        else if (a == "--sets=cold")
            opt.hot = false;
        else if (a == "--sets=both")
            opt.hot = opt.cold = true;
        else if (a.rfind("--cold-mib=", 0) == 0)
            opt.cold_mib = std::max<std::size_t>(std::strtoul(a.c_str() + 11, nullptr, 10), 1);
        else if (a == "--quick") {
            opt.run_ms = 1.0;
            opt.runs = 3;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--targets=all|best] [--sets=both|hot|cold] [--cold-mib=N] "
                         "[--quick]\n",
                         argv[0]);
            std::exit(2);
        }
    }
    return opt;
}

std::size_t vector_bytes(Element e, std::size_t dim)
{
    switch (e) {
    case Element::f32:
        return dim * sizeof(float);
    case Element::f16:
        return dim * sizeof(half_bits);
    case Element::bits:
        return dim / 8;
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    const Options opt = parse_options(argc, argv);
    const std::size_t hot_bytes = 32 * 1024;

    std::vector<const KernelTable *> tables;
    for (SimdTarget t :
         {SimdTarget::scalar, SimdTarget::sse42, SimdTarget::avx2, SimdTarget::avx512})
        if (const KernelTable *table = core::kernels_for(t))
            if (opt.all_targets || t == core::best_supported_target())
                tables.push_back(table);

    std::printf("# quiver kernel benchmark on %s\n", cpu_model().c_str());
    std::printf(
        "# best target: %s; hot set: %zu KiB cycled; cold set: %zu MiB read in random order\n",
        core::target_name(core::best_supported_target()), hot_bytes / 1024,
        opt.cold ? opt.cold_mib : std::size_t{0});
    std::printf("# ns per distance, median of %d runs of ~%.0f ms after warm-up; *_batch16 = one "
                "call for 16 vectors\n",
                opt.runs, opt.run_ms);
#if defined(QUIVER_WITH_FAISS)
    std::printf("# ratio = faiss ns / quiver ns (>1: quiver faster)\n");
#else
    std::printf("# built without QUIVER_WITH_FAISS: no FAISS columns\n");
#endif
    std::printf("%-17s %5s %-4s %-7s %9s %9s %6s  %s\n", "kernel", "dim", "set", "target", "ns/op",
                "faiss ns", "ratio", "faiss function");

    AlignedBuffer query(64 * 1024);
    AlignedBuffer hot(hot_bytes);
    AlignedBuffer cold(opt.cold ? opt.cold_mib * 1024 * 1024 : 64);
    bool cold_ready = false;
    Element cold_element = Element::bits;
    RandomIndices random;

    for (const KernelInfo &info : kernel_infos) {
        std::vector<std::size_t> dims = {128, 384, 768, 1536};
        if (info.element == Element::bits)
            dims = {1024, 4096};  // bits
        for (std::size_t dim : dims) {
            const std::size_t vbytes = vector_bytes(info.element, dim);
            fill(query.data(), vbytes, info.element, 1);
            fill(hot.data(), hot.size, info.element, 2);
            for (bool is_cold : {false, true}) {
                if ((is_cold && !opt.cold) || (!is_cold && !opt.hot))
                    continue;
                AccessPattern p;
                p.stride = vbytes;
                std::size_t hot_cursor = 0;
                std::size_t *cursor = &hot_cursor;
                if (is_cold) {
                    if (!cold_ready || cold_element != info.element) {
                        fill(cold.data(), cold.size, info.element, 3);
                        cold_ready = true;
                        cold_element = info.element;
                    }
                    p.base = cold.data();
                    p.count = cold.size / vbytes;
                    if (random.built_for != p.count)
                        random.build(p.count);
                    p.random = random.indices.data();
                    p.random_mask = random.indices.size() - 1;
                    cursor = &random.cursor;
                } else {
                    p.base = hot.data();
                    p.count = std::max<std::size_t>(hot.size / vbytes, 1);
                }

                double faiss_ns =
                    info.faiss ? measure_faiss(info.kernel, query.data(), dim, p, cursor, opt) : -1;
                for (const KernelTable *t : tables) {
                    double ns = measure_quiver(info.kernel, *t, query.data(), dim, p, cursor, opt);
                    char faiss_col[32] = "-", ratio_col[32] = "-";
                    if (faiss_ns > 0) {
                        std::snprintf(faiss_col, sizeof faiss_col, "%.1f", faiss_ns);
                        std::snprintf(ratio_col, sizeof ratio_col, "%.2f", faiss_ns / ns);
                    }
                    std::printf("%-17s %5zu %-4s %-7s %9.1f %9s %6s  %s\n", info.name, dim,
                                is_cold ? "cold" : "hot", t->name, ns, faiss_col, ratio_col,
                                faiss_ns > 0 ? info.faiss : "");
                    std::fflush(stdout);
                }
            }
        }
    }
    return 0;
}
