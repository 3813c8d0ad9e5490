// SQ8 (quant/sq8.h): decode error within half a step per dimension, distances equal to exact
// distances to the decoded vector, clamping outside the trained range, empty ranges, blob
// round trip and corrupt blobs, invalid input.
#include "test_quant.h"
#include "test_util.h"

#include "quiver/core/quant/blob.h"
#include "quiver/core/quant/sq8.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <ostream>
#include <vector>

using namespace quiver_test;
using quiver::core::Metric;
namespace quant = quiver::core::quant;
using quant::QuantStatus;
using quant::Sq8Quantizer;

namespace {

std::unique_ptr<Sq8Quantizer> train_sq8(const std::vector<float> &rows, std::uint32_t dim)
{
    std::unique_ptr<Sq8Quantizer> q;
    BOOST_REQUIRE(Sq8Quantizer::train(dim, rows.data(), rows.size() / dim, &q) == QuantStatus::ok);
    return q;
}

// Different ranges per dimension, so a mixed-up dimension shows.
std::vector<float> ranged_rows(std::size_t n, std::uint32_t dim, std::uint32_t seed)
{
    std::vector<float> rows = random_floats(n * dim, seed);
    for (std::size_t i = 0; i < n; ++i)
        for (std::uint32_t j = 0; j < dim; ++j)
            rows[i * dim + j] = rows[i * dim + j] * float(j + 1) + float(j) * 0.5f;
    return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(quant_sq8)

BOOST_AUTO_TEST_CASE(decode_error_is_at_most_half_a_step)
{
    const std::uint32_t dim = 37;
    const std::vector<float> rows = ranged_rows(500, dim, 1);
    const auto q = train_sq8(rows, dim);
    BOOST_TEST(q->code_size() == dim);
    std::vector<std::uint8_t> code(dim);
    std::vector<float> back(dim);
    for (std::size_t i = 0; i < 500; ++i) {
        q->encode(&rows[i * dim], code.data());
        q->decode(code.data(), back.data());
        for (std::uint32_t j = 0; j < dim; ++j) {
            const float step = q->step()[j];
            BOOST_TEST(step == (q->vmax()[j] - q->vmin()[j]) / 256.0f,
                       boost::test_tools::tolerance(1e-6f));
            // Half a step, plus the float rounding of the cell arithmetic.
            BOOST_TEST(std::fabs(back[j] - rows[i * dim + j]) <= 0.5f * step * (1 + 1e-4f) + 1e-6f,
                       "row " << i << " dim " << j);
        }
    }
    // The extremes of the range land in the first and last cell.
    for (std::uint32_t j = 0; j < dim; ++j) {
        std::vector<float> lo(q->vmin(), q->vmin() + dim), hi(q->vmax(), q->vmax() + dim);
        q->encode(lo.data(), code.data());
        BOOST_TEST(code[j] == 0);
        q->encode(hi.data(), code.data());
        BOOST_TEST(code[j] == 255);
    }
}

BOOST_AUTO_TEST_CASE(distance_equals_exact_distance_to_decoded_vector)
{
    const std::uint32_t dim = 100;
    const std::vector<float> rows = ranged_rows(300, dim, 2);
    const auto q = train_sq8(rows, dim);
    const std::vector<float> queries = ranged_rows(4, dim, 3);
    std::vector<std::uint8_t> codes(300 * dim);
    q->encode_batch(rows.data(), 300, codes.data());
    std::vector<float> back(dim), batch(300);
    for (Metric metric : {Metric::l2sq, Metric::neg_dot}) {
        std::unique_ptr<quant::CodeDistance> dc;
        BOOST_REQUIRE(q->make_distance(metric, &dc) == QuantStatus::ok);
        for (std::size_t k = 0; k < 4; ++k) {
            const float *query = &queries[k * dim];
            dc->prepare(query);
            dc->distances(codes.data(), 300, batch.data());
            for (std::size_t i = 0; i < 300; ++i) {
                q->decode(&codes[i * dim], back.data());
                const double exact = exact_distance(metric, query, back.data(), dim);
                double magnitude = 0.0;
                for (std::uint32_t j = 0; j < dim; ++j)
                    magnitude += (std::fabs(query[j]) + std::fabs(back[j])) *
                                 (std::fabs(query[j]) + std::fabs(back[j]));
                BOOST_TEST(std::fabs(dc->distance(&codes[i * dim]) - exact) <= 1e-5 * magnitude);
                BOOST_TEST(batch[i] == dc->distance(&codes[i * dim]));
            }
        }
    }
    std::unique_ptr<quant::CodeDistance> dc;
    BOOST_TEST(q->make_distance(Metric::l1, &dc) == QuantStatus::invalid);
}

BOOST_AUTO_TEST_CASE(values_outside_the_range_are_clamped)
{
    const float vmin[3] = {-1.0f, 0.0f, 5.0f}, vmax[3] = {1.0f, 0.0f, 6.0f};
    std::unique_ptr<Sq8Quantizer> q;
    BOOST_REQUIRE(Sq8Quantizer::create(3, vmin, vmax, &q) == QuantStatus::ok);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    std::uint8_t code[3];
    float back[3];
    const float below[3] = {-7.0f, -1.0f, -inf}, above[3] = {9.0f, 3.0f, inf};
    q->encode(below, code);
    BOOST_TEST((code[0] == 0 && code[1] == 0 && code[2] == 0));
    q->encode(above, code);
    BOOST_TEST((code[0] == 255 && code[1] == 0 && code[2] == 255));  // empty range: always 0
    const float odd[3] = {nan, nan, 5.5f};
    q->encode(odd, code);
    BOOST_TEST((code[0] == 0 && code[1] == 0 && code[2] == 128));
    q->decode(code, back);
    BOOST_TEST(back[1] == 0.0f);  // an empty range decodes to its one value, no NaN
    BOOST_TEST(back[2] == 5.0f + 128.5f / 256.0f);
}

BOOST_AUTO_TEST_CASE(blob_round_trip_and_corruption)
{
    const std::uint32_t dim = 12;
    const std::vector<float> rows = ranged_rows(50, dim, 4);
    const auto q = train_sq8(rows, dim);
    std::vector<std::uint8_t> blob;
    BOOST_REQUIRE(q->save(&blob) == QuantStatus::ok);
    BOOST_TEST(blob.size() == 32u + 8u * dim);
    std::unique_ptr<quant::Quantizer> loaded;
    BOOST_REQUIRE(quant::load_quantizer(blob.data(), blob.size(), &loaded) == QuantStatus::ok);
    BOOST_TEST((loaded->kind() == quant::QuantizerKind::sq8));
    std::vector<std::uint8_t> again;
    BOOST_REQUIRE(loaded->save(&again) == QuantStatus::ok);
    BOOST_TEST((again == blob));

    auto resealed = [](std::vector<std::uint8_t> b) {
        namespace bl = quant::blob;
        bl::put_u32(b.data() + 28,
                    bl::fnv1a(b.data() + 32, b.size() - 32, bl::fnv1a(b.data(), 28)));
        return b;
    };
    std::vector<std::uint8_t> swapped = blob;  // vmin[0] > vmax[0]
    quant::blob::put_u32(swapped.data() + 32, 0x7f000000u);
    BOOST_TEST(load_status(resealed(swapped)) == QuantStatus::corrupt);
    std::vector<std::uint8_t> infinite = blob;
    quant::blob::put_u32(infinite.data() + 32 + 4 * dim, 0x7f800000u);
    BOOST_TEST(load_status(resealed(infinite)) == QuantStatus::corrupt);
    std::vector<std::uint8_t> params = blob;
    quant::blob::put_u32(params.data() + 12, 4);
    BOOST_TEST(load_status(resealed(params)) == QuantStatus::corrupt);
    std::vector<std::uint8_t> flipped = blob;
    flipped[40] ^= 1;
    BOOST_TEST(load_status(flipped) == QuantStatus::corrupt);
    blob.pop_back();
    BOOST_TEST(load_status(blob) == QuantStatus::corrupt);
}

BOOST_AUTO_TEST_CASE(training_through_the_quantizer_seam)
{
    const std::uint32_t dim = 8;
    const std::vector<float> rows = ranged_rows(64, dim, 5);
    quant::QuantizerParams p;
    p.kind = quant::QuantizerKind::sq8;
    p.dim = dim;
    std::unique_ptr<quant::Quantizer> q;
    BOOST_REQUIRE(quant::train_quantizer(p, rows.data(), 64, &q) == QuantStatus::ok);
    BOOST_TEST((q->kind() == quant::QuantizerKind::sq8));
    BOOST_TEST(quant::train_quantizer(p, rows.data(), 0, &q) == QuantStatus::invalid);
    BOOST_TEST(quant::train_quantizer(p, nullptr, 64, &q) == QuantStatus::invalid);
    std::vector<float> bad = rows;
    bad[9] = std::numeric_limits<float>::infinity();
    BOOST_TEST(quant::train_quantizer(p, bad.data(), 64, &q) == QuantStatus::invalid);
    p.dim = 0;
    BOOST_TEST(quant::train_quantizer(p, rows.data(), 64, &q) == QuantStatus::invalid);
    p.dim = quant::max_quantizer_dim + 1;
    BOOST_TEST(quant::train_quantizer(p, rows.data(), 1, &q) == QuantStatus::invalid);
    std::unique_ptr<Sq8Quantizer> s;
    const float lo[2] = {1.0f, 0.0f}, hi[2] = {0.0f, 1.0f};
    BOOST_TEST(Sq8Quantizer::create(2, lo, hi, &s) == QuantStatus::invalid);
}

BOOST_AUTO_TEST_SUITE_END()
