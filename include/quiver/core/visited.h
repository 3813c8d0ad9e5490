// Visited marks for graph searches: one 16-bit tag per node, and a node counts as visited when
// its tag equals the current epoch. Starting a search bumps the epoch instead of clearing the
// array (hnswlib's trick); only a wrap-around clears it. Not thread-safe; never throws.
#pragma once
#include "quiver/core/pure.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace quiver::core {

class VisitedMarks {
public:
    // Capacity grows with the graph; the caller reserves (and counts) it like any other array.
    void reserve(std::size_t nodes) { tags_.reserve(nodes); }
    // New nodes start unvisited (tag 0 never equals an epoch).
    void resize(std::size_t nodes) { tags_.resize(nodes, 0); }
    std::size_t capacity_bytes() const noexcept { return tags_.capacity() * sizeof(std::uint16_t); }

    void start_search() noexcept
    {
        if (++epoch_ == 0) {
            std::fill(tags_.begin(), tags_.end(), 0);
            epoch_ = 1;
        }
    }
    bool visited(std::uint32_t id) const noexcept { return tags_[id] == epoch_; }
    void mark(std::uint32_t id) noexcept { tags_[id] = epoch_; }
    // True the first time `id` is seen in this search (and marks it).
    bool first_visit(std::uint32_t id) noexcept
    {
        if (tags_[id] == epoch_)
            return false;
        tags_[id] = epoch_;
        return true;
    }
    const void *tag_address(std::uint32_t id) const noexcept { return &tags_[id]; }

private:
    std::vector<std::uint16_t> tags_;
    std::uint16_t epoch_ = 0;
};

}  // namespace quiver::core
