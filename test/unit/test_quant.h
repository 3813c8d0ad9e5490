// What the quantizer unit tests share: printing statuses and kinds in failed checks, the exact
// distance in doubles that code distances are held against, and loading a blob for its status.
#pragma once

#include "quiver/core/distance.h"
#include "quiver/core/quant/quantizer.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <vector>

namespace quiver::core::quant {
inline std::ostream &operator<<(std::ostream &os, QuantStatus s) { return os << status_name(s); }
inline std::ostream &operator<<(std::ostream &os, QuantizerKind k) { return os << int(k); }
}  // namespace quiver::core::quant

namespace quiver_test {

// l2sq or neg_dot between a and b, summed in doubles.
inline double exact_distance(quiver::core::Metric metric, const float *a, const float *b,
                             std::size_t dim)
{
    double s = 0.0;
    for (std::size_t j = 0; j < dim; ++j)
        s += metric == quiver::core::Metric::l2sq ? (double(a[j]) - b[j]) * (double(a[j]) - b[j])
                                                  : -double(a[j]) * b[j];
    return s;
}

// What load_quantizer() says of a blob.
inline quiver::core::quant::QuantStatus load_status(const std::vector<std::uint8_t> &blob)
{
    std::unique_ptr<quiver::core::quant::Quantizer> q;
    return quiver::core::quant::load_quantizer(blob.data(), blob.size(), &q);
}

}  // namespace quiver_test
