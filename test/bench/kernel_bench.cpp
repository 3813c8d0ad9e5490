// Kernel micro-benchmark: ns per distance for every target this CPU runs, on a cache-resident
// ("hot") and a far-larger-than-cache ("cold", random order) working set, and -- when built with
// QUIVER_WITH_FAISS -- FAISS's own functions in the same run. A report, never a pass/fail test.
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
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

// ---------------------------------------------------------------------------------------------
// Working sets. Vectors sit at a fixed stride in one buffer; an op reads the query (always hot)
// and one vector chosen by the access pattern.

struct AlignedBuffer {
    std::unique_ptr<std::uint8_t, decltype(&std::free)> bytes{nullptr, &std::free};
    std::size_t size = 0;
    explicit AlignedBuffer(std::size_t n)
        : bytes(static_cast<std::uint8_t *>(std::aligned_alloc(64, (n + 63) / 64 * 64)), &std::free),
          size(n)
    {
        if (!bytes) {
            std::fprintf(stderr, "out of memory allocating %zu bytes\n", n);
            std::exit(1);
        }
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

enum class Element { f32, f16, bits };

// Fills with values of the element type that never produce denormals (whose microcode assists
// would measure the CPU, not the kernel): floats in +-[0.5, 1), halves in +-[1, 2).
void fill(std::uint8_t *p, std::size_t nbytes, Element e, std::uint64_t seed)
{
    std::uint64_t state = seed;
    for (std::size_t i = 0; i + 8 <= nbytes; i += 8) {
        std::uint64_t r = splitmix64(state);
        if (e == Element::f32) {
            std::uint32_t w[2];
            for (int k = 0; k < 2; ++k) {
                std::uint32_t bits = static_cast<std::uint32_t>(r >> (32 * k));
                w[k] = (bits & 0x807fffffu) | 0x3f000000u;
            }
            std::memcpy(p + i, w, 8);
        } else if (e == Element::f16) {
            std::uint16_t h[4];
            for (int k = 0; k < 4; ++k) {
                std::uint16_t bits = static_cast<std::uint16_t>(r >> (16 * k));
                h[k] = static_cast<std::uint16_t>((bits & 0x83ffu) | 0x3c00u);
            }
            std::memcpy(p + i, h, 8);
        } else {
            std::memcpy(p + i, &r, 8);
        }
    }
}

struct WorkingSet {
    const std::uint8_t *base;
    std::size_t stride;    // bytes between vectors
    std::size_t count;     // vectors in the set
    bool random_order;     // cold: random vector per op; hot: cycle through the set
    const std::uint32_t *order;
    std::size_t order_len;

    const std::uint8_t *vector(std::size_t op) const
    {
        std::size_t index = random_order ? order[op % order_len] : op % count;
        return base + index * stride;
    }
};

// Random indices for the cold set, generated once per vector size. The cursor keeps moving
// across measurements so no run re-reads what the previous one just pulled into cache.
struct ColdOrder {
    std::vector<std::uint32_t> order;
    std::size_t cursor = 0;
    std::size_t built_for = 0;  // vector count the indices were drawn for
    void build(std::size_t count, std::uint64_t seed)
    {
        built_for = count;
        order.resize(std::size_t{1} << 22);
        std::uint64_t state = seed;
        for (auto &i : order)
            i = static_cast<std::uint32_t>(splitmix64(state) % count);
        cursor = 0;
    }
};

// ---------------------------------------------------------------------------------------------
// Timing: warm-up, then `runs` runs of about run_ms each; the median ns per op is reported.

using Op = std::function<float(const std::uint8_t *)>;

volatile float sink;

double time_ops(const Op &op, const WorkingSet &ws, std::size_t first_op, std::size_t ops)
{
    float acc = 0.0f;
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < ops; ++i)
        acc += op(ws.vector(first_op + i));
    auto stop = std::chrono::steady_clock::now();
    sink = acc;
    return std::chrono::duration<double, std::nano>(stop - start).count();
}

double measure(const Op &op, WorkingSet ws, ColdOrder *cold, const Options &opt)
{
    std::size_t next_op = cold ? cold->cursor : 0;
    // Warm-up: caches, branch predictors, clock frequency; also sizes the runs.
    std::size_t probe = 64;
    double probe_ns = 0;
    for (int i = 0; i < 3; ++i) {
        probe_ns = time_ops(op, ws, next_op, probe);
        next_op += probe;
    }
    double per_op = std::max(probe_ns / static_cast<double>(probe), 0.5);
    std::size_t ops = static_cast<std::size_t>(opt.run_ms * 1e6 / per_op);
    ops = std::max<std::size_t>(ops, 256);
    time_ops(op, ws, next_op, ops);
    next_op += ops;

    std::vector<double> results;
    for (int r = 0; r < opt.runs; ++r) {
        results.push_back(time_ops(op, ws, next_op, ops) / static_cast<double>(ops));
        next_op += ops;
    }
    if (cold)
        cold->cursor = next_op % cold->order.size();
    std::sort(results.begin(), results.end());
    return results[results.size() / 2];
}

// ---------------------------------------------------------------------------------------------
// The kernels measured. Each case makes an Op for a quiver table and, when FAISS is linked and
// has an equivalent, one for FAISS.

struct Case {
    std::string kernel;
    Element element;
    std::size_t dim;  // elements (bits for bit strings)
    std::function<Op(const KernelTable &, const std::uint8_t *query)> quiver;
    std::function<Op(const std::uint8_t *query)> faiss;  // empty when there is no equivalent
    std::string faiss_name;
};

std::size_t vector_bytes(Element e, std::size_t dim)
{
    switch (e) {
    case Element::f32: return dim * sizeof(float);
    case Element::f16: return dim * sizeof(half_bits);
    case Element::bits: return dim / 8;
    }
    return 0;
}

const float *as_f32(const std::uint8_t *p) { return reinterpret_cast<const float *>(p); }
const half_bits *as_f16(const std::uint8_t *p) { return reinterpret_cast<const half_bits *>(p); }

constexpr std::size_t batch_size = 16;

// Batch kernels: one op = a batch of 16 consecutive vectors of the access pattern; the per-op
// time is divided by 16 when printed.
template <class T, class Fn>
Op quiver_batch(Fn fn, const std::uint8_t *query, std::size_t dim, const WorkingSet *ws)
{
    return [=](const std::uint8_t *first) {
        // `first` is the vector of this op; the batch takes it and the next 15 of the pattern.
        const T *xs[batch_size];
        std::size_t start = static_cast<std::size_t>(first - ws->base) / ws->stride;
        for (std::size_t j = 0; j < batch_size; ++j)
            xs[j] = reinterpret_cast<const T *>(ws->base + ((start + j * 7919) % ws->count) * ws->stride);
        float out[batch_size];
        fn(reinterpret_cast<const T *>(query), xs, batch_size, dim, out);
        return out[0] + out[batch_size - 1];
    };
}

#if defined(QUIVER_WITH_FAISS)
__attribute__((target("popcnt"))) float faiss_hamming_default(const std::uint8_t *q,
                                                               const std::uint8_t *x,
                                                               std::size_t nbytes)
{
    faiss::HammingComputerDefault hc(q, static_cast<int>(nbytes));
    return static_cast<float>(hc.hamming(x));
}

__attribute__((target("popcnt"))) float faiss_hamming_words(const std::uint8_t *q,
                                                             const std::uint8_t *x,
                                                             std::size_t nbytes)
{
    return static_cast<float>(faiss::hamming(reinterpret_cast<const std::uint64_t *>(q),
                                             reinterpret_cast<const std::uint64_t *>(x),
                                             nbytes / 8));
}
#endif

std::vector<Case> make_cases(const std::vector<WorkingSet *> &batch_ws_slot)
{
    std::vector<Case> cases;
    const std::size_t dims[] = {128, 384, 768, 1536};
    WorkingSet *const *ws_slot = batch_ws_slot.data();

    for (std::size_t dim : dims) {
        cases.push_back({"l2sq_f32", Element::f32, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.l2sq_f32;
                             return [=](const std::uint8_t *x) { return fn(as_f32(q), as_f32(x), dim); };
                         },
                         {}, "fvec_L2sqr"});
        cases.push_back({"dot_f32", Element::f32, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.dot_f32;
                             return [=](const std::uint8_t *x) { return fn(as_f32(q), as_f32(x), dim); };
                         },
                         {}, "fvec_inner_product"});
        cases.push_back({"cosine_f32", Element::f32, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.cosine_f32;
                             return [=](const std::uint8_t *x) {
                                 core::CosineParts p = fn(as_f32(q), as_f32(x), dim);
                                 return p.dot + p.norm_a + p.norm_b;
                             };
                         },
                         {}, "inner_product+norm_L2sqr"});
        cases.push_back({"l1_f32", Element::f32, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.l1_f32;
                             return [=](const std::uint8_t *x) { return fn(as_f32(q), as_f32(x), dim); };
                         },
                         {}, "fvec_L1"});
        cases.push_back({"norm_sq_f32", Element::f32, dim,
                         [dim](const KernelTable &t, const std::uint8_t *) -> Op {
                             auto fn = t.norm_sq_f32;
                             return [=](const std::uint8_t *x) { return fn(as_f32(x), dim); };
                         },
                         {}, "fvec_norm_L2sqr"});
        cases.push_back({"l2sq_f32_batch16", Element::f32, dim,
                         [dim, ws_slot](const KernelTable &t, const std::uint8_t *q) -> Op {
                             return quiver_batch<float>(t.l2sq_f32_batch, q, dim, *ws_slot);
                         },
                         {}, "fvec_L2sqr_by_idx"});
        cases.push_back({"dot_f32_batch16", Element::f32, dim,
                         [dim, ws_slot](const KernelTable &t, const std::uint8_t *q) -> Op {
                             return quiver_batch<float>(t.dot_f32_batch, q, dim, *ws_slot);
                         },
                         {}, "fvec_inner_products_by_idx"});
    }
    for (std::size_t dim : dims) {
        cases.push_back({"l2sq_f16", Element::f16, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.l2sq_f16;
                             return [=](const std::uint8_t *x) { return fn(as_f16(q), as_f16(x), dim); };
                         },
                         {}, "SQ fp16 query_to_code L2"});
        cases.push_back({"dot_f16", Element::f16, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.dot_f16;
                             return [=](const std::uint8_t *x) { return fn(as_f16(q), as_f16(x), dim); };
                         },
                         {}, "SQ fp16 query_to_code IP"});
        cases.push_back({"cosine_f16", Element::f16, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.cosine_f16;
                             return [=](const std::uint8_t *x) {
                                 core::CosineParts p = fn(as_f16(q), as_f16(x), dim);
                                 return p.dot + p.norm_a + p.norm_b;
                             };
                         },
                         {}, ""});
        cases.push_back({"l1_f16", Element::f16, dim,
                         [dim](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.l1_f16;
                             return [=](const std::uint8_t *x) { return fn(as_f16(q), as_f16(x), dim); };
                         },
                         {}, ""});
        cases.push_back({"l2sq_f16_batch16", Element::f16, dim,
                         [dim, ws_slot](const KernelTable &t, const std::uint8_t *q) -> Op {
                             return quiver_batch<half_bits>(t.l2sq_f16_batch, q, dim, *ws_slot);
                         },
                         {}, ""});
    }
    for (std::size_t bits : {std::size_t{1024}, std::size_t{4096}}) {
        std::size_t nbytes = bits / 8;
        cases.push_back({"hamming", Element::bits, bits,
                         [nbytes](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.hamming_bits;
                             return [=](const std::uint8_t *x) { return static_cast<float>(fn(q, x, nbytes)); };
                         },
                         {}, "HammingComputerDefault|hamming(words)"});
        cases.push_back({"jaccard", Element::bits, bits,
                         [nbytes](const KernelTable &t, const std::uint8_t *q) -> Op {
                             auto fn = t.jaccard_bits;
                             return [=](const std::uint8_t *x) {
                                 core::JaccardCounts c = fn(q, x, nbytes);
                                 return static_cast<float>(c.both + c.a_count + c.b_count);
                             };
                         },
                         {}, ""});
    }
    return cases;
}

#if defined(QUIVER_WITH_FAISS)
// FAISS equivalents, attached by kernel name. Each returns one or more Ops; the fastest counts.
std::vector<Op> faiss_ops(const Case &c, const std::uint8_t *q, const WorkingSet *ws,
                          std::vector<std::unique_ptr<faiss::ScalarQuantizer>> &keep_sq,
                          std::vector<std::unique_ptr<faiss::ScalarQuantizer::SQDistanceComputer>> &keep_dc,
                          std::vector<float> &query_f32)
{
    const std::size_t d = c.dim;
    const float *qf = as_f32(q);
    if (c.kernel == "l2sq_f32")
        return {[=](const std::uint8_t *x) { return faiss::fvec_L2sqr(qf, as_f32(x), d); }};
    if (c.kernel == "dot_f32")
        return {[=](const std::uint8_t *x) { return faiss::fvec_inner_product(qf, as_f32(x), d); }};
    if (c.kernel == "cosine_f32") {
        // FAISS has no cosine kernel; the same work is the inner product plus the candidate's
        // norm (the query norm would be computed once per search).
        return {[=](const std::uint8_t *x) {
            return faiss::fvec_inner_product(qf, as_f32(x), d) + faiss::fvec_norm_L2sqr(as_f32(x), d);
        }};
    }
    if (c.kernel == "l1_f32")
        return {[=](const std::uint8_t *x) { return faiss::fvec_L1(qf, as_f32(x), d); }};
    if (c.kernel == "norm_sq_f32")
        return {[=](const std::uint8_t *x) { return faiss::fvec_norm_L2sqr(as_f32(x), d); }};
    if (c.kernel == "l2sq_f32_batch16" || c.kernel == "dot_f32_batch16") {
        bool l2 = c.kernel == "l2sq_f32_batch16";
        return {[=](const std::uint8_t *first) {
            std::int64_t ids[batch_size];
            std::size_t start = static_cast<std::size_t>(first - ws->base) / ws->stride;
            for (std::size_t j = 0; j < batch_size; ++j)
                ids[j] = static_cast<std::int64_t>((start + j * 7919) % ws->count);
            float out[batch_size];
            const float *y = as_f32(ws->base);
            if (l2)
                faiss::fvec_L2sqr_by_idx(out, qf, y, ids, d, 1, batch_size);
            else
                faiss::fvec_inner_products_by_idx(out, qf, y, ids, d, 1, batch_size);
            return out[0] + out[batch_size - 1];
        }};
    }
    if (c.kernel == "l2sq_f16" || c.kernel == "dot_f16") {
        // FAISS's float16 storage: ScalarQuantizer QT_fp16 codes (IEEE binary16) scanned with a
        // float32 query, as IndexScalarQuantizer search does.
        auto metric = c.kernel == "l2sq_f16" ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
        keep_sq.push_back(std::make_unique<faiss::ScalarQuantizer>(d, faiss::ScalarQuantizer::QT_fp16));
        keep_dc.emplace_back(keep_sq.back()->get_distance_computer(metric));
        query_f32.resize(d);
        for (std::size_t i = 0; i < d; ++i)
            query_f32[i] = core::half_to_float(as_f16(q)[i]);
        keep_dc.back()->set_query(query_f32.data());
        faiss::ScalarQuantizer::SQDistanceComputer *dc = keep_dc.back().get();
        return {[=](const std::uint8_t *x) { return dc->query_to_code(x); }};
    }
    if (c.kernel == "hamming") {
        std::size_t nbytes = d / 8;
        return {[=](const std::uint8_t *x) { return faiss_hamming_default(q, x, nbytes); },
                [=](const std::uint8_t *x) { return faiss_hamming_words(q, x, nbytes); }};
    }
    return {};
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
            opt.cold_mib = std::strtoul(a.c_str() + 11, nullptr, 10);
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

}  // namespace

int main(int argc, char **argv)
{
    Options opt = parse_options(argc, argv);

    std::vector<const KernelTable *> tables;
    for (SimdTarget t : {SimdTarget::scalar, SimdTarget::sse42, SimdTarget::avx2, SimdTarget::avx512})
        if (const KernelTable *table = core::kernels_for(t))
            if (opt.all_targets || t == core::best_supported_target())
                tables.push_back(table);

    std::printf("# quiver kernel benchmark on %s\n", cpu_model().c_str());
    std::printf("# best target: %s; hot set: 32 KiB cycled (L1/L2); cold set: %zu MiB, random order\n",
                core::target_name(core::best_supported_target()), opt.cold_mib);
    std::printf("# median of %d runs of ~%.0f ms after warm-up; batch16 rows are per distance\n",
                opt.runs, opt.run_ms);
#if defined(QUIVER_WITH_FAISS)
    std::printf("# ratio = faiss ns / quiver ns (>1: quiver faster)\n");
#else
    std::printf("# built without FAISS (QUIVER_WITH_FAISS): faiss columns empty\n");
#endif
    std::printf("%-18s %5s %-4s %-7s %10s %10s %7s  %s\n", "kernel", "dim", "set", "target",
                "ns/op", "faiss ns", "ratio", "faiss reference");

    const std::size_t hot_bytes = 32 * 1024;
    AlignedBuffer query_buf(64 * 1024);
    AlignedBuffer hot_buf(hot_bytes + 64 * 1024);
    AlignedBuffer cold_buf(opt.cold ? opt.cold_mib * 1024 * 1024 : 64);
    Element filled_cold = Element::bits;
    bool cold_filled = false;
    ColdOrder cold_order;
    WorkingSet current_ws{};
    std::vector<WorkingSet *> ws_slot{&current_ws};

    std::vector<Case> cases = make_cases(ws_slot);
    for (const Case &c : cases) {
        const std::size_t vbytes = vector_bytes(c.element, c.dim);
        fill(query_buf.data(), vbytes, c.element, 1);
        fill(hot_buf.data(), hot_buf.size, c.element, 2);

        for (int set = 0; set < 2; ++set) {
            bool cold = set == 1;
            if ((cold && !opt.cold) || (!cold && !opt.hot))
                continue;
            if (cold && (!cold_filled || filled_cold != c.element)) {
                fill(cold_buf.data(), cold_buf.size, c.element, 3);
                filled_cold = c.element;
                cold_filled = true;
            }
            WorkingSet ws{};
            ws.stride = vbytes;
            if (cold) {
                ws.base = cold_buf.data();
                ws.count = cold_buf.size / vbytes;
                if (cold_order.built_for != ws.count)
                    cold_order.build(ws.count, vbytes);
                ws.random_order = true;
                ws.order = cold_order.order.data();
                ws.order_len = cold_order.order.size();
            } else {
                ws.base = hot_buf.data();
                ws.count = std::max<std::size_t>(hot_bytes / vbytes, 4);
                ws.random_order = false;
            }
            current_ws = ws;
            double per = c.kernel.find("batch16") != std::string::npos ? batch_size : 1.0;

            double faiss_ns = -1;
#if defined(QUIVER_WITH_FAISS)
            std::vector<std::unique_ptr<faiss::ScalarQuantizer>> keep_sq;
            std::vector<std::unique_ptr<faiss::ScalarQuantizer::SQDistanceComputer>> keep_dc;
            std::vector<float> query_f32;
            for (const Op &op : faiss_ops(c, query_buf.data(), &current_ws, keep_sq, keep_dc, query_f32)) {
                double ns = measure(op, ws, cold ? &cold_order : nullptr, opt) / per;
                faiss_ns = faiss_ns < 0 ? ns : std::min(faiss_ns, ns);
            }
#endif
            for (const KernelTable *t : tables) {
                Op op = c.quiver(*t, query_buf.data());
                double ns = measure(op, ws, cold ? &cold_order : nullptr, opt) / per;
                char faiss_col[32] = "-", ratio_col[32] = "-";
                if (faiss_ns > 0) {
                    std::snprintf(faiss_col, sizeof faiss_col, "%.1f", faiss_ns);
                    std::snprintf(ratio_col, sizeof ratio_col, "%.2f", faiss_ns / ns);
                }
                std::printf("%-18s %5zu %-4s %-7s %10.1f %10s %7s  %s\n", c.kernel.c_str(), c.dim,
                            cold ? "cold" : "hot", t->name, ns, faiss_col, ratio_col,
                            faiss_ns > 0 ? c.faiss_name.c_str() : "");
                std::fflush(stdout);
            }
        }
    }
    return 0;
}
