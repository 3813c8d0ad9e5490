// 4-bit fast-scan (quant/fastscan.h): packing round trip, the scalar kernel against a plain
// per-vector sum, every runnable SIMD target bit for bit against scalar (wrap-around included),
// and the quantized tables within the documented error of the float ADC distance.
#include "test_quant.h"
#include "test_util.h"

#include "quiver/core/quant/fastscan.h"
#include "quiver/core/quant/pq.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <vector>

using namespace quiver_test;
using quiver::core::Metric;
namespace quant = quiver::core::quant;

namespace {

const std::uint32_t subspace_counts[] = {1, 2, 3, 4, 7, 8, 16, 25, 64, 301};

std::size_t code_bytes(std::uint32_t m) { return (std::size_t(m) + 1) / 2; }

// Random 4-bit PQ codes; the unused high nibble of an odd M stays 0, as encode() leaves it.
std::vector<std::uint8_t> random_codes(std::size_t n, std::uint32_t m, std::uint32_t seed)
{
    std::vector<std::uint8_t> codes = random_bytes(n * code_bytes(m), seed);
    if (m % 2 == 1)
        for (std::size_t i = 0; i < n; ++i)
            codes[i * code_bytes(m) + m / 2] &= 0x0f;
    return codes;
}

std::uint32_t nibble(const std::uint8_t *code, std::uint32_t sub)
{
    return (code[sub / 2] >> (4 * (sub % 2))) & 15;
}

const quiver::core::KernelTable &scalar()
{
    return *quiver::core::kernels_for(quiver::core::SimdTarget::scalar);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(quant_fastscan)

BOOST_AUTO_TEST_CASE(pack_and_unpack_round_trip)
{
    for (std::uint32_t m : subspace_counts) {
        for (std::size_t n : {std::size_t(1), std::size_t(31), std::size_t(32), std::size_t(77)}) {
            const std::vector<std::uint8_t> codes = random_codes(n, m, m + std::uint32_t(n));
            std::vector<std::uint8_t> blocks(quant::fastscan_packed_bytes(n, m), 0xee);
            quant::fastscan_pack(codes.data(), n, m, blocks.data());
            std::vector<std::uint8_t> back(code_bytes(m));
            for (std::size_t i = 0; i < n; ++i) {
                quant::fastscan_unpack(blocks.data(), m, i, back.data());
                BOOST_TEST(std::memcmp(back.data(), &codes[i * code_bytes(m)], back.size()) == 0,
                           "m " << m << " vector " << i);
            }
            // Padding vectors of the last block have all codes 0.
            for (std::size_t i = n; i < quant::fastscan_blocks(n) * 32; ++i) {
                quant::fastscan_unpack(blocks.data(), m, i, back.data());
                for (std::uint8_t b : back)
                    BOOST_TEST(b == 0);
            }
        }
    }
}

// Storing vectors one slot at a time, over a block that held others, gives the packed block.
BOOST_AUTO_TEST_CASE(store_replaces_one_slot)
{
    for (std::uint32_t m : subspace_counts) {
        const std::vector<std::uint8_t> old_codes = random_codes(32, m, 500 + m);
        const std::vector<std::uint8_t> codes = random_codes(32, m, 600 + m);
        std::vector<std::uint8_t> block(quant::fastscan_block_bytes(m));
        quant::fastscan_pack(old_codes.data(), 32, m, block.data());
        std::vector<std::uint8_t> want(block.size());
        quant::fastscan_pack(codes.data(), 32, m, want.data());
        for (std::size_t slot : {31, 0, 16, 15, 1, 17, 30}) {
            quant::fastscan_store(block.data(), m, slot, &codes[slot * code_bytes(m)]);
            std::vector<std::uint8_t> back(code_bytes(m));
            quant::fastscan_unpack(block.data(), m, slot, back.data());
            BOOST_TEST(std::memcmp(back.data(), &codes[slot * code_bytes(m)], back.size()) == 0,
                       "m " << m << " slot " << slot);
        }
        for (std::size_t slot = 0; slot < 32; ++slot)
            quant::fastscan_store(block.data(), m, slot, &codes[slot * code_bytes(m)]);
        BOOST_TEST(block == want, "m " << m);
    }
}

BOOST_AUTO_TEST_CASE(scalar_kernel_sums_each_vectors_entries)
{
    for (std::uint32_t m : subspace_counts) {
        const std::size_t n = 70;
        const std::vector<std::uint8_t> codes = random_codes(n, m, 100 + m);
        std::vector<std::uint8_t> blocks(quant::fastscan_packed_bytes(n, m));
        quant::fastscan_pack(codes.data(), n, m, blocks.data());
        // Table entries as the quantizer would write them: the phantom sub-space is all zero.
        std::vector<std::uint8_t> lut = random_bytes(quant::fastscan_lut_bytes(m), 200 + m);
        if (m % 2 == 1)
            std::memset(&lut[16 * m], 0, 16);
        std::vector<std::uint16_t> sums(quant::fastscan_blocks(n) * 32);
        quant::fastscan_scan(blocks.data(), quant::fastscan_blocks(n), m, lut.data(), sums.data(),
                             scalar());
        for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t expected = 0;
            for (std::uint32_t sub = 0; sub < m; ++sub)
                expected += lut[16 * sub + nibble(&codes[i * code_bytes(m)], sub)];
            BOOST_TEST(sums[i] == (expected & 0xffffu), "m " << m << " vector " << i);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_target_matches_scalar_bit_for_bit)
{
    // Random table bytes over the whole 0-255 range: with M = 301 the sums wrap past 65535,
    // which every target must do identically too.
    for (const quiver::core::KernelTable *table : runnable_tables()) {
        for (std::uint32_t m : subspace_counts) {
            for (std::size_t nblocks : {std::size_t(0), std::size_t(1), std::size_t(2),
                                        std::size_t(5)}) {
                const std::size_t pairs = quant::fastscan_pairs(m);
                const std::vector<std::uint8_t> blocks =
                    random_bytes(nblocks * pairs * 32 + 1, 300 + m);  // +1: unaligned start
                const std::vector<std::uint8_t> lut = random_bytes(pairs * 32 + 1, 400 + m);
                std::vector<std::uint16_t> expected(nblocks * 32 + 1, 0x5555);
                std::vector<std::uint16_t> got(nblocks * 32 + 1, 0x5555);
                scalar().pq4_fastscan_u16(blocks.data() + 1, nblocks, pairs, lut.data() + 1,
                                          expected.data());
                table->pq4_fastscan_u16(blocks.data() + 1, nblocks, pairs, lut.data() + 1,
                                        got.data());
                BOOST_TEST((got == expected), table->name << " m " << m << " blocks " << nblocks);
                BOOST_TEST(got.back() == 0x5555);  // nothing written past the last block
            }
        }
    }
    BOOST_TEST_MESSAGE("fast-scan targets compared with scalar: " << runnable_tables().size() - 1);
}

// Table ranges and byte quantization: every target gives the scalar bytes, halves included
// (entries k + 0.5 above the minimum at scale 1 round to even, as nearbyint does).
BOOST_AUTO_TEST_CASE(table_kernels_match_scalar_bit_for_bit)
{
    for (const quiver::core::KernelTable *table : runnable_tables()) {
        for (std::uint32_t m : subspace_counts) {
            std::vector<float> tables = random_floats(16 * m, 700 + m, -3.0f, 50.0f);
            std::vector<float> lo(m), hi(m), want_lo(m), want_hi(m);
            scalar().fastscan_ranges(tables.data(), m, want_lo.data(), want_hi.data());
            table->fastscan_ranges(tables.data(), m, lo.data(), hi.data());
            BOOST_TEST((lo == want_lo && hi == want_hi), table->name << " ranges m " << m);
            for (float scale : {0.37f, 4.9f, 300.0f}) {  // 300: entries past 255 saturate
                std::vector<std::uint8_t> want(16 * m), got(16 * m);
                scalar().fastscan_quantize(tables.data(), want_lo.data(), m, scale, want.data());
                table->fastscan_quantize(tables.data(), want_lo.data(), m, scale, got.data());
                BOOST_TEST((got == want), table->name << " quantize m " << m << " scale " << scale);
            }
        }
        std::vector<float> halves(16), lo(1, 0.0f);
        for (int c = 0; c < 16; ++c)
            halves[c] = static_cast<float>(c) + 0.5f;
        std::vector<std::uint8_t> got(16);
        table->fastscan_quantize(halves.data(), lo.data(), 1, 1.0f, got.data());
        for (int c = 0; c < 16; ++c)
            BOOST_TEST(got[c] == (c % 2 == 0 ? c : c + 1), table->name << " half " << c);
    }
}

// Each byte is its table entry above the table's least, times the returned scale, rounded: for
// an M the stack holds in one pass (ranges measured once) and one past it (measured twice).
BOOST_AUTO_TEST_CASE(quantized_tables_are_the_scaled_entries)
{
    for (std::uint32_t m : {7u, 512u, 600u}) {
        const std::vector<float> tables = random_floats(16 * m, 800 + m, -5.0f, 9.0f);
        std::vector<std::uint8_t> lut(quant::fastscan_lut_bytes(m));
        const quant::FastScanScale s = quant::fastscan_quantize_lut(tables.data(), m, lut.data());
        double bias = 0;
        for (std::uint32_t sub = 0; sub < m; ++sub) {
            const float *t = &tables[16 * sub];
            const float lo = *std::min_element(t, t + 16);
            bias += lo;
            for (int c = 0; c < 16; ++c) {
                const float q = std::nearbyint((t[c] - lo) * s.scale);
                const int want = q >= 255.0f ? 255 : static_cast<int>(q);
                BOOST_TEST(int(lut[16 * sub + c]) == want, "m " << m << " sub " << sub << " c " << c);
            }
        }
        BOOST_TEST(std::fabs(s.bias - bias) <= 1e-3 * m);
    }
}

BOOST_AUTO_TEST_CASE(quantized_tables_stay_within_the_documented_error)
{
    for (std::uint32_t m : {4u, 25u, 50u}) {
        const std::uint32_t dim = 2 * m;
        const std::vector<float> rows = random_floats(600 * dim, 500 + m);
        quant::QuantizerParams p;
        p.dim = dim;
        p.pq_m = m;
        p.pq_nbits = 4;
        p.max_iterations = 8;
        std::unique_ptr<quant::ProductQuantizer> pq;
        BOOST_REQUIRE(quant::ProductQuantizer::train(p, rows.data(), 600, &pq) ==
                      quant::QuantStatus::ok);
        const std::size_t n = 200;
        std::vector<std::uint8_t> codes(n * pq->code_size());
        pq->encode_batch(rows.data(), n, codes.data());
        std::vector<std::uint8_t> blocks(quant::fastscan_packed_bytes(n, m));
        quant::fastscan_pack(codes.data(), n, m, blocks.data());

        const std::vector<float> queries = random_floats(3 * dim, 600 + m, -2.0f, 2.0f);
        std::vector<float> tables(16 * m);
        std::vector<std::uint8_t> lut(quant::fastscan_lut_bytes(m));
        std::vector<std::uint16_t> sums(quant::fastscan_blocks(n) * 32);
        for (Metric metric : {Metric::l2sq, Metric::neg_dot}) {
            for (std::size_t q = 0; q < 3; ++q) {
                BOOST_REQUIRE(
                    pq->compute_distance_tables(&queries[q * dim], metric, tables.data()));
                const quant::FastScanScale s =
                    quant::fastscan_quantize_lut(tables.data(), m, lut.data());
                BOOST_TEST(s.scale > 0.0f);
                // No sum can wrap: the largest entries of all sub-spaces add up to <= 65535.
                std::uint32_t worst = 0;
                for (std::uint32_t sub = 0; sub < m; ++sub)
                    worst += *std::max_element(&lut[16 * sub], &lut[16 * sub] + 16);
                BOOST_TEST(worst <= 65535u);
                quant::fastscan_scan(blocks.data(), quant::fastscan_blocks(n), m, lut.data(),
                                     sums.data());
                const float bound = quant::fastscan_error_bound(s, m);
                for (std::size_t i = 0; i < n; ++i) {
                    const float adc = pq->adc_distance(tables.data(), &codes[i * pq->code_size()]);
                    const float approx = quant::fastscan_distance(sums[i], s);
                    // Plus float rounding of the ADC sum and of bias + sum / scale.
                    const float slack = 1e-5f * (std::fabs(adc) + std::fabs(s.bias)) + 1e-6f;
                    BOOST_TEST(std::fabs(approx - adc) <= bound + slack,
                               "m " << m << " vector " << i << ": " << approx << " vs " << adc);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(flat_tables_quantize_to_zero)
{
    const std::uint32_t m = 3;
    std::vector<float> tables(16 * m);
    for (std::uint32_t sub = 0; sub < m; ++sub)
        for (int c = 0; c < 16; ++c)
            tables[16 * sub + c] = float(sub) + 0.25f;
    std::vector<std::uint8_t> lut(quant::fastscan_lut_bytes(m), 0xaa);
    const quant::FastScanScale s = quant::fastscan_quantize_lut(tables.data(), m, lut.data());
    for (std::uint8_t b : lut)
        BOOST_TEST(b == 0);
    BOOST_TEST(s.scale == 1.0f);
    BOOST_TEST(quant::fastscan_distance(0, s) == 0.25f + 1.25f + 2.25f);
}

BOOST_AUTO_TEST_CASE(sizes)
{
    BOOST_TEST(quant::fastscan_pairs(1) == 1u);
    BOOST_TEST(quant::fastscan_pairs(25) == 13u);
    BOOST_TEST(quant::fastscan_block_bytes(25) == 13u * 32);
    BOOST_TEST(quant::fastscan_blocks(0) == 0u);
    BOOST_TEST(quant::fastscan_blocks(33) == 2u);
    BOOST_TEST(quant::fastscan_packed_bytes(33, 8) == 2u * 4 * 32);
    BOOST_TEST(quant::fastscan_lut_bytes(7) == 4u * 32);
}

BOOST_AUTO_TEST_SUITE_END()
