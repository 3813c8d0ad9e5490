// Locality-sensitive hash families for the `lsh` access method (issue 12): L tables of K
// functions each, drawn from a seed, and the order in which multi-probe querying visits a
// table's buckets. Pure C++; statuses, never exceptions.
//
// Families (one per opclass kind), with the probability that one function gives two inputs the
// same value (collision_probability(), checked against sampled functions by the unit tests):
//   bit_sampling  bit(dim) under Hamming distance h: a function reads one bit position drawn
//                 uniformly; p = 1 - h / dim.
//   simhash       vectors under cosine (angle theta): a function is the sign of the dot product
//                 with a Gaussian direction (a random hyperplane); p = 1 - theta / pi.
//   pstable       vectors under L2 (distance c): a function is floor((a.x + b) / w) with a
//                 Gaussian a and b uniform in [0, w) (Datar et al. 2004); with r = w / c,
//                 p = 1 - 2 Phi(-r) - 2 / (sqrt(2 pi) r) (1 - exp(-r^2 / 2)).
//   minhash       bit(dim) as the set of its set bits under Jaccard similarity J: a function is
//                 the least value of a random hash of the set's positions; p = J.
//
// Keys: a table's K function values combine into one 64-bit bucket key: the K bits themselves
// for bit_sampling and simhash (K <= 64, bit j from function j), a mixed hash of the K values
// for pstable and minhash. Equal inputs always get equal keys.
//
// Multi-probe (Lv et al. 2007): besides its own bucket, a query probes the buckets of the
// function values it most nearly had, cheapest first. A perturbation changes one function's
// value; its cost is how close the query came to the other value: |a.x| for simhash, the
// distance to the slot's lower or upper edge (in units of w) for pstable, and the same for every
// bit of bit_sampling (probes go by the number of bits changed). Sets of perturbations come in
// increasing total cost (squared costs for pstable, as in the paper), never two of the same
// function. minhash has no useful perturbation: it probes its own bucket only.
//
// Parameters (projections, offsets, sampled positions, hash seeds) are generated from the seed
// with the core's own generator, and can be exported and re-imported so an index can keep them
// in its pages rather than trust every machine to regenerate the same floats.
#pragma once
#include "quiver/core/pure.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace quiver::core::lsh {

enum class Family : std::uint8_t { bit_sampling = 1, simhash = 2, pstable = 3, minhash = 4 };

enum class LshStatus : std::uint8_t {
    ok = 0,
    invalid,  // a parameter out of range (see Params), or parameters of the wrong size
};

struct Params {
    Family family = Family::simhash;
    std::uint32_t dim = 0;      // vector dimensions, or bits of a bit(dim) value; 1..65535
    std::uint32_t tables = 0;   // L: 1..256
    std::uint32_t bits = 0;     // K: functions per table, 1..64
    float width = 4.0f;         // w of pstable (> 0, finite); ignored by the other families
    std::uint64_t seed = 0;
};

class HashFamily {
public:
    // Draws the functions. invalid: a Params field out of its range.
    static LshStatus create(const Params &params, std::unique_ptr<HashFamily> *out) noexcept;
    // From parameters exported by parameters() (the same Params, seed included).
    static LshStatus from_parameters(const Params &params, const float *values, std::size_t n,
                                     std::unique_ptr<HashFamily> *out) noexcept;

    const Params &params() const noexcept { return params_; }
    // The drawn parameters as floats (what from_parameters() takes back).
    const std::vector<float> &parameters() const noexcept { return values_; }

    // Function values of `x` in table t, values[j] for j < K. x: dim floats (simhash, pstable)
    // or (dim + 7) / 8 bytes of a bit value, PostgreSQL's order: bit i is the most significant
    // bit of byte i / 8 (bit_sampling, minhash; an empty set hashes to UINT32_MAX).
    void values(const void *x, std::uint32_t table, std::int32_t *values) const noexcept;
    // The bucket key of x in each table: keys[t] for t < L.
    void keys(const void *x, std::uint64_t *keys) const noexcept;
    // The keys of the first n buckets to probe in table t, most likely first (out[0] is x's own
    // bucket); fewer when the family has fewer (minhash: 1). Returns how many were written.
    std::size_t probes(const void *x, std::uint32_t table, std::size_t n,
                       std::uint64_t *out) const noexcept;

    // The probability that one function gives two inputs the same value, by the inputs'
    // Hamming distance (bit_sampling), angle in radians (simhash), L2 distance (pstable) or
    // Jaccard similarity (minhash).
    double collision_probability(double d) const noexcept;

private:
    HashFamily(const Params &params, std::vector<float> values) noexcept;

    // One table's values and, per function, the costs of moving it down and up one step (an
    // infinite cost when it cannot move that way).
    void values_and_costs(const void *x, std::uint32_t table, std::int32_t *values, float *down,
                          float *up) const noexcept;
    std::uint64_t key_of(const std::int32_t *values) const noexcept;

    Params params_;
    std::vector<float> values_;
};

// Expected parameter count of a family (what parameters() holds), 0 for invalid params.
std::size_t parameter_count(const Params &params) noexcept;

}  // namespace quiver::core::lsh
