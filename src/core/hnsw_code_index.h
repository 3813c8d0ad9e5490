// Private to the core: finds the node holding exactly the given code bytes, so duplicates are
// recognised whatever the metric (Jaccard puts every empty set at distance 1 from everything,
// so no graph search could be relied on to meet the twin). Holds node ids only; it never
// allocates except in rebuild(), whose std::bad_alloc the graph turns into over_budget.
#pragma once
#include "quiver/core/pure.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace quiver::core::hnsw {

class ExactCodeIndex {
public:
    static constexpr std::uint32_t empty = 0xffffffffu;

    // Slots kept for `nodes` entries: at most half full, a power of two for masking.
    static std::size_t slots_for(std::size_t nodes)
    {
        std::size_t slots = 16;
        while (slots < 2 * nodes)
            slots *= 2;
        return slots;
    }
    static std::size_t bytes_for_slots(std::size_t slots) { return slots * sizeof(std::uint32_t); }

    std::size_t slots() const { return slots_.size(); }
    std::size_t bytes() const { return bytes_for_slots(slots_.capacity()); }

    // 64-bit multiply-xorshift hash over 8-byte words; only needs to spread codes over slots.
    static std::uint64_t hash(const void *code, std::size_t bytes)
    {
        const auto *p = static_cast<const unsigned char *>(code);
        std::uint64_t h = 0x243f6a8885a308d3ull ^ (bytes * 0x9e3779b97f4a7c15ull);
        std::size_t i = 0;
        for (; i + 8 <= bytes; i += 8) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            h = (h ^ mix(w)) * 0x9e3779b97f4a7c15ull;
        }
        if (i < bytes) {
            std::uint64_t w = 0;
            std::memcpy(&w, p + i, bytes - i);
            h = (h ^ mix(w)) * 0x9e3779b97f4a7c15ull;
        }
        return mix(h);
    }

    // The node whose code (code_of(id) -> {pointer, bytes}) equals `code`, or `empty`.
    template <class CodeOf>
    std::uint32_t find(const void *code, std::size_t bytes, CodeOf code_of) const
    {
        if (slots_.empty())
            return empty;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t s = hash(code, bytes) & mask;; s = (s + 1) & mask) {
            const std::uint32_t id = slots_[s];
            if (id == empty)
                return empty;
            const auto [stored, stored_bytes] = code_of(id);
            if (stored_bytes == bytes && std::memcmp(stored, code, bytes) == 0)
                return id;
        }
    }

    // Requires a free slot to spare (slots() >= slots_for(entries + 1)).
    void insert(std::uint32_t id, const void *code, std::size_t bytes)
    {
        const std::size_t mask = slots_.size() - 1;
        std::size_t s = hash(code, bytes) & mask;
        while (slots_[s] != empty)
            s = (s + 1) & mask;
        slots_[s] = id;
    }

    // Points the entry of `old_id` (whose code is `code`) at `new_id`, which holds the same
    // bytes: later lookups then find the newest twin.
    void replace(std::uint32_t old_id, std::uint32_t new_id, const void *code, std::size_t bytes)
    {
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t s = hash(code, bytes) & mask; slots_[s] != empty; s = (s + 1) & mask) {
            if (slots_[s] == old_id) {
                slots_[s] = new_id;
                return;
            }
        }
    }

    // Re-hashes nodes 0..count-1 into `slots` slots. Unchanged if allocation throws.
    template <class CodeOf> void rebuild(std::size_t slots, std::size_t count, CodeOf code_of)
    {
        ExactCodeIndex bigger;
        bigger.slots_.assign(slots, empty);
        // Later twins replace earlier ones, as replace() did when they were added.
        for (std::size_t id = 0; id < count; ++id) {
            const auto [code, bytes] = code_of(static_cast<std::uint32_t>(id));
            const std::uint32_t twin = bigger.find(code, bytes, code_of);
            if (twin == empty)
                bigger.insert(static_cast<std::uint32_t>(id), code, bytes);
            else
                bigger.replace(twin, static_cast<std::uint32_t>(id), code, bytes);
        }
        slots_.swap(bigger.slots_);
    }

private:
    static std::uint64_t mix(std::uint64_t z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

    std::vector<std::uint32_t> slots_;
};

}  // namespace quiver::core::hnsw
