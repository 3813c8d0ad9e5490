// Locality-sensitive hash families and multi-probe order; see quiver/core/lsh.h.
#include "quiver/core/lsh.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <queue>

namespace quiver::core::lsh {
namespace {

constexpr double kPi = 3.14159265358979323846;

// splitmix64: the core's generator, the same sequence on every platform for a seed.
struct Generator {
    std::uint64_t state;
    std::uint64_t next() noexcept
    {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1), 53 random bits.
    double uniform() noexcept { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    // Standard normal (Box-Muller; the second value of each pair is not kept).
    double gaussian() noexcept
    {
        double u = uniform();
        while (u <= 0.0)
            u = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * kPi * uniform());
    }
};

// murmur3's 32-bit finaliser: a bijection of uint32, so x -> fmix32(x ^ seed) orders the
// positions of a set like a random permutation would (closely enough for min-hashing).
inline std::uint32_t fmix32(std::uint32_t h) noexcept
{
    h ^= h >> 16;
    h *= 0x85EBCA6BU;
    h ^= h >> 13;
    h *= 0xC2B2AE35U;
    h ^= h >> 16;
    return h;
}

inline bool bit_at(const std::uint8_t *bytes, std::uint32_t i) noexcept
{
    return (bytes[i / 8] >> (7 - i % 8)) & 1;
}

bool valid(const Params &p) noexcept
{
    if (p.dim == 0 || p.dim > 65535 || p.tables == 0 || p.tables > 256 || p.bits == 0 || p.bits > 64)
        return false;
    if (p.family == Family::pstable && !(std::isfinite(p.width) && p.width > 0.0f))
        return false;
    return p.family == Family::bit_sampling || p.family == Family::simhash ||
           p.family == Family::pstable || p.family == Family::minhash;
}

// Standard normal distribution function.
double phi(double x) noexcept { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

std::size_t parameter_count(const Params &p) noexcept
{
    if (!valid(p))
        return 0;
    const std::size_t functions = std::size_t(p.tables) * p.bits;
    switch (p.family) {
    case Family::bit_sampling:
        return functions;                    // sampled positions
    case Family::simhash:
        return functions * p.dim;            // directions
    case Family::pstable:
        return functions * p.dim + functions;  // directions, then offsets b
    case Family::minhash:
        return functions * 2;                // each seed as two 16-bit halves
    }
    return 0;
}

HashFamily::HashFamily(const Params &params, std::vector<float> values) noexcept
    : params_(params), values_(std::move(values))
{
}

LshStatus HashFamily::create(const Params &params, std::unique_ptr<HashFamily> *out) noexcept
{
    const std::size_t n = parameter_count(params);
    if (n == 0)
        return LshStatus::invalid;
    std::vector<float> v;
    try {
        v.resize(n);
    } catch (const std::bad_alloc &) {
        return LshStatus::invalid;
    }
    Generator g{params.seed};
    const std::size_t functions = std::size_t(params.tables) * params.bits;
    switch (params.family) {
    case Family::bit_sampling:
        for (std::size_t f = 0; f < functions; ++f)
            v[f] = float(g.next() % params.dim);
        break;
    case Family::simhash:
        // Unit directions: the sign is what counts, and a unit a makes |a.x| the distance to
        // the hyperplane, the probe cost.
        for (std::size_t f = 0; f < functions; ++f) {
            float *a = v.data() + f * params.dim;
            double norm = 0;
            for (std::uint32_t i = 0; i < params.dim; ++i) {
                a[i] = float(g.gaussian());
                norm += double(a[i]) * a[i];
            }
            norm = std::sqrt(norm);
            for (std::uint32_t i = 0; i < params.dim; ++i)
                a[i] = norm > 0 ? float(a[i] / norm) : (i == 0 ? 1.0f : 0.0f);
        }
        break;
    case Family::pstable:
        for (std::size_t i = 0; i < functions * params.dim; ++i)
            v[i] = float(g.gaussian());
        for (std::size_t f = 0; f < functions; ++f)
            v[functions * params.dim + f] = float(g.uniform() * params.width);
        break;
    case Family::minhash:
        for (std::size_t f = 0; f < functions; ++f) {
            const std::uint32_t seed = std::uint32_t(g.next());
            v[2 * f] = float(seed >> 16);
            v[2 * f + 1] = float(seed & 0xFFFF);
        }
        break;
    }
    out->reset(new (std::nothrow) HashFamily(params, std::move(v)));
    return *out ? LshStatus::ok : LshStatus::invalid;
}

LshStatus HashFamily::from_parameters(const Params &params, const float *values, std::size_t n,
                                      std::unique_ptr<HashFamily> *out) noexcept
{
    if (n == 0 || n != parameter_count(params) || values == nullptr)
        return LshStatus::invalid;
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(values[i]))
            return LshStatus::invalid;
    if (params.family == Family::bit_sampling)
        for (std::size_t i = 0; i < n; ++i)
            if (values[i] < 0 || values[i] >= float(params.dim) || values[i] != std::floor(values[i]))
                return LshStatus::invalid;
    if (params.family == Family::minhash)
        for (std::size_t i = 0; i < n; ++i)
            if (values[i] < 0 || values[i] > 65535.0f || values[i] != std::floor(values[i]))
                return LshStatus::invalid;
    std::vector<float> v;
    try {
        v.assign(values, values + n);
    } catch (const std::bad_alloc &) {
        return LshStatus::invalid;
    }
    out->reset(new (std::nothrow) HashFamily(params, std::move(v)));
    return *out ? LshStatus::ok : LshStatus::invalid;
}

void HashFamily::values_and_costs(const void *x, std::uint32_t table, std::int32_t *values,
                                  float *down, float *up) const noexcept
{
    const std::uint32_t k = params_.bits;
    const std::uint32_t dim = params_.dim;
    const std::size_t first = std::size_t(table) * k;  // the table's first function
    constexpr float inf = std::numeric_limits<float>::infinity();
    switch (params_.family) {
    case Family::bit_sampling: {
        const auto *bytes = static_cast<const std::uint8_t *>(x);
        for (std::uint32_t j = 0; j < k; ++j) {
            const bool b = bit_at(bytes, std::uint32_t(values_[first + j]));
            values[j] = b;
            down[j] = b ? 1.0f : inf;
            up[j] = b ? inf : 1.0f;
        }
        break;
    }
    case Family::simhash: {
        const auto *v = static_cast<const float *>(x);
        for (std::uint32_t j = 0; j < k; ++j) {
            const float *a = values_.data() + (first + j) * dim;
            double dot = 0;
            for (std::uint32_t i = 0; i < dim; ++i)
                dot += double(a[i]) * v[i];
            const bool b = dot >= 0;
            values[j] = b;
            down[j] = b ? float(dot) : inf;
            up[j] = b ? inf : float(-dot);
        }
        break;
    }
    case Family::pstable: {
        const auto *v = static_cast<const float *>(x);
        const std::size_t functions = std::size_t(params_.tables) * k;
        const double w = params_.width;
        for (std::uint32_t j = 0; j < k; ++j) {
            const float *a = values_.data() + (first + j) * dim;
            double dot = values_[functions * dim + first + j];
            for (std::uint32_t i = 0; i < dim; ++i)
                dot += double(a[i]) * v[i];
            const double slot = std::floor(dot / w);
            const double frac = dot / w - slot;  // where in its slot, 0..1
            values[j] = std::int32_t(std::max(-2147483647.0, std::min(2147483647.0, slot)));
            down[j] = float(frac);
            up[j] = float(1.0 - frac);
        }
        break;
    }
    case Family::minhash: {
        const auto *bytes = static_cast<const std::uint8_t *>(x);
        for (std::uint32_t j = 0; j < k; ++j) {
            const std::uint32_t seed = (std::uint32_t(values_[2 * (first + j)]) << 16) |
                                       std::uint32_t(values_[2 * (first + j) + 1]);
            std::uint32_t least = UINT32_MAX;
            for (std::uint32_t byte = 0; byte < (dim + 7) / 8; ++byte) {
                if (bytes[byte] == 0)
                    continue;
                for (std::uint32_t i = byte * 8; i < std::min(dim, byte * 8 + 8); ++i)
                    if (bit_at(bytes, i))
                        least = std::min(least, fmix32(i ^ seed));
            }
            values[j] = std::int32_t(least);
            down[j] = inf;
            up[j] = inf;
        }
        break;
    }
    }
}

std::uint64_t HashFamily::key_of(const std::int32_t *values) const noexcept
{
    const std::uint32_t k = params_.bits;
    if (params_.family == Family::bit_sampling || params_.family == Family::simhash) {
        std::uint64_t key = 0;
        for (std::uint32_t j = 0; j < k; ++j)
            key |= std::uint64_t(values[j] & 1) << j;
        return key;
    }
    std::uint64_t h = 0x243F6A8885A308D3ULL;
    for (std::uint32_t j = 0; j < k; ++j) {
        h ^= std::uint32_t(values[j]);
        h *= 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
    }
    return h;
}

void HashFamily::values(const void *x, std::uint32_t table, std::int32_t *values) const noexcept
{
    float down[64], up[64];
    values_and_costs(x, table, values, down, up);
}

void HashFamily::keys(const void *x, std::uint64_t *keys) const noexcept
{
    std::int32_t v[64];
    float down[64], up[64];
    for (std::uint32_t t = 0; t < params_.tables; ++t) {
        values_and_costs(x, t, v, down, up);
        keys[t] = key_of(v);
    }
}

std::size_t HashFamily::probes(const void *x, std::uint32_t table, std::size_t n,
                               std::uint64_t *out) const noexcept
{
    if (n == 0)
        return 0;
    const std::uint32_t k = params_.bits;
    std::int32_t v[64];
    float down[64], up[64];
    values_and_costs(x, table, v, down, up);
    out[0] = key_of(v);
    if (n == 1)
        return 1;

    // The perturbations that can happen (finite cost), cheapest first: option i moves function
    // fn[i] by step[i] at score[i] (the squared cost).
    struct Option {
        float score;
        std::uint8_t fn;
        std::int8_t step;
    };
    Option opts[128];
    int m = 0;
    for (std::uint32_t j = 0; j < k; ++j) {
        if (std::isfinite(down[j]))
            opts[m++] = {down[j] * down[j], std::uint8_t(j), -1};
        if (std::isfinite(up[j]))
            opts[m++] = {up[j] * up[j], std::uint8_t(j), 1};
    }
    if (m == 0)
        return 1;
    std::stable_sort(opts, opts + m, [](const Option &a, const Option &b) { return a.score < b.score; });

    // Lv et al.'s generation: sets of option indices in increasing total score; from set A
    // (its largest index i), "shift" replaces i with i + 1 and "expand" adds i + 1. Every set
    // comes out once; sets naming one function twice are skipped but still grow.
    // A set of options as a 128-bit mask (m <= 128) and its largest member: no allocation per
    // set, only the heap's own.
    struct Set {
        double score;
        std::uint64_t bits[2];
        int last;
        bool operator>(const Set &o) const noexcept { return score > o.score; }
        void add(int i) noexcept { bits[i / 64] |= std::uint64_t(1) << (i % 64); }
        void remove(int i) noexcept { bits[i / 64] &= ~(std::uint64_t(1) << (i % 64)); }
    };
    std::size_t written = 1;
    try {
        std::priority_queue<Set, std::vector<Set>, std::greater<Set>> heap;
        Set first{opts[0].score, {0, 0}, 0};
        first.add(0);
        heap.push(first);
        // Enough pops for n probes even when many sets are invalid (pstable: at most half of
        // them name one function twice among the cheapest), with a hard stop.
        for (std::size_t pops = 0; !heap.empty() && written < n && pops < 64 * n + 1024; ++pops) {
            const Set a = heap.top();
            heap.pop();
            const int last = a.last;
            if (last + 1 < m) {
                Set shifted = a;
                shifted.remove(last);
                shifted.add(last + 1);
                shifted.last = last + 1;
                shifted.score += opts[last + 1].score - opts[last].score;
                Set expanded = a;
                expanded.add(last + 1);
                expanded.last = last + 1;
                expanded.score += opts[last + 1].score;
                heap.push(shifted);
                heap.push(expanded);
            }
            std::uint64_t used = 0;
            bool ok = true;
            std::int32_t p[64];
            std::copy(v, v + k, p);
            for (int w = 0; w < 2 && ok; ++w)
                for (std::uint64_t b = a.bits[w]; b != 0 && ok; b &= b - 1) {
                    const Option &o = opts[w * 64 + __builtin_ctzll(b)];
                    const std::uint64_t bit = std::uint64_t(1) << o.fn;
                    ok = !(used & bit);
                    used |= bit;
                    p[o.fn] += o.step;
                }
            if (ok)
                out[written++] = key_of(p);
        }
    } catch (const std::bad_alloc &) {
        // Fewer probes than asked: the buckets found so far are still the most likely ones.
    }
    return written;
}

double HashFamily::collision_probability(double d) const noexcept
{
    switch (params_.family) {
    case Family::bit_sampling:
        return std::max(0.0, 1.0 - d / params_.dim);
    case Family::simhash:
        return std::max(0.0, 1.0 - d / kPi);
    case Family::pstable: {
        if (d <= 0)
            return 1.0;
        const double r = params_.width / d;
        return 1.0 - 2.0 * phi(-r) - 2.0 / (std::sqrt(2.0 * kPi) * r) * (1.0 - std::exp(-r * r / 2.0));
    }
    case Family::minhash:
        return std::min(1.0, std::max(0.0, d));
    }
    return 0.0;
}

}  // namespace quiver::core::lsh
