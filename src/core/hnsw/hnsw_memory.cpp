// Memory of the in-memory HNSW graph: the arena (format, growth of a private one within the
// budget, node allocation), scratch accounting, and the two things kept at the arena's end besides
// upper lists and sparse codes: the table of exact codes (duplicates are recognised by their
// bytes, whatever the metric) and the label arrays of nodes with duplicates. Nothing here throws
// except std::bad_alloc from scratch reservations, which Graph::add turns into over_budget.
#include "hnsw_graph_impl.h"

#include <sched.h>

#include <cstdlib>
#include <new>

namespace quiver::core::hnsw {

void SpinLock::sched_yield_() noexcept { sched_yield(); }

namespace {

constexpr std::size_t first_twin_slots = 64;
constexpr std::size_t first_private_arena = std::size_t(64) << 10;

std::uint64_t mix(std::uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// 64-bit multiply-xorshift hash over 8-byte words; only needs to spread codes over slots.
std::uint64_t code_hash(const void *code, std::size_t bytes)
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

}  // namespace

std::size_t arena_minimum(std::size_t record_bytes)
{
    return sizeof(ArenaHeader) + first_twin_slots * sizeof(std::uint32_t) + record_bytes;
}

std::size_t Graph::Impl::record_bytes() const
{
    return align8(rec_list0 + list_bytes(m0) + fixed_bytes);
}

bool Graph::Impl::format(unsigned char *region, std::size_t bytes) const
{
    if (region == nullptr || bytes < arena_minimum(record_bytes()))
        return false;
    auto *h = new (region) ArenaHeader();
    h->magic = arena_magic;
    h->bytes = bytes;
    h->m = static_cast<std::uint32_t>(m);
    h->m0 = static_cast<std::uint32_t>(m0);
    h->fixed_bytes = static_cast<std::uint32_t>(fixed_bytes);
    h->record_bytes = static_cast<std::uint32_t>(record_bytes());
    h->list0_bytes = static_cast<std::uint32_t>(list_bytes(m0));
    h->block_bytes = static_cast<std::uint32_t>(list_bytes(m));
    h->representation = static_cast<std::uint32_t>(dc.representation);
    h->metric = static_cast<std::uint32_t>(dc.metric);
    h->dim = dc.dim;
    h->ef_construction = params.ef_construction;
    h->seed = params.seed;
    h->max_labels_per_node = params.max_labels_per_node;
    h->alloc_lock.init();
    h->count.store(0, std::memory_order_relaxed);
    h->back_used = 0;
    h->entry_lock.init();
    h->top_level = -1;
    h->entry = 0;
    h->twin_lock.init();
    Arena view{region};
    std::uint64_t table = 0;
    view.take_back(first_twin_slots * sizeof(std::uint32_t), &table);  // fits: see arena_minimum
    h->twin_table = table;
    h->twin_slots = first_twin_slots;
    h->twin_entries = 0;
    std::memset(view.twin_slots(), 0xff, first_twin_slots * sizeof(std::uint32_t));
    return true;
}

std::uint32_t Graph::Impl::capacity_hint() const
{
    const std::size_t nodes = (arena.bytes() - sizeof(ArenaHeader)) / record_bytes();
    return static_cast<std::uint32_t>(std::min<std::size_t>(nodes, std::numeric_limits<std::uint32_t>::max() - 1));
}

std::size_t Graph::Impl::arena_limit() const
{
    // The arena, its visited marks (2 bytes for each node it could hold) and the scratch (as
    // much as an insertion on level 3 needs, or what is held already when more).
    const std::size_t ef = static_cast<std::size_t>(std::max(params.ef_construction, 1));
    const std::size_t reserve = sizeof(Neighbor) * (4 * ef + 2 * ef + ef + 1 + 4 * (m0 + 1)) +
                                (4 * sizeof(std::uint32_t) + 2 * sizeof(float) + 2 + sizeof(void *)) * (m0 + 1) +
                                4 * sizeof(std::pair<std::size_t, std::size_t>);
    const std::size_t scratch = std::max(scratch_bytes(), reserve);
    if (params.memory_budget <= scratch)
        return 0;
    const double per_byte = 1.0 + 2.0 / static_cast<double>(record_bytes());
    return static_cast<std::size_t>(static_cast<double>(params.memory_budget - scratch) / per_byte) & ~std::size_t(7);
}

bool Graph::Impl::move_to(std::size_t bytes)
{
    auto *region = static_cast<unsigned char *>(std::malloc(bytes));
    if (region == nullptr)
        return false;
    const std::size_t nodes = (bytes - sizeof(ArenaHeader)) / record_bytes();
    try {
        visited.reserve(nodes);  // before anything changes: it may throw
    } catch (const std::bad_alloc &) {
        std::free(region);
        return false;
    }
    if (arena.base == nullptr) {
        format(region, bytes);
    } else {
        const std::size_t front = arena.front_used();
        const std::size_t back = arena.h()->back_used;
        std::memcpy(region, arena.base, front);
        std::memcpy(region + bytes - back, arena.base + arena.bytes() - back, back);
        reinterpret_cast<ArenaHeader *>(region)->bytes = bytes;
        if (owned)
            std::free(arena.base);
    }
    arena.base = region;
    owned = true;
    return true;
}

bool Graph::Impl::grow_for(std::size_t need)
{
    if (shared)
        return true;  // a shared arena never grows: the allocation itself (locked) checks
    if (arena.front_used() + arena.h()->back_used + need <= arena.bytes())
        return true;
    const std::size_t used = arena.front_used() + arena.h()->back_used;
    const std::size_t limit = arena_limit();
    if (used + need > limit)
        return false;
    const std::size_t want = std::min(limit, std::max(arena.bytes() * 2, used + need + first_private_arena));
    return move_to(want & ~std::size_t(7));
}

std::size_t Graph::Impl::read_list(std::uint32_t id, int level) const
{
    Guard guard(arena.lock(id), shared);
    const std::uint32_t *block = link_block(id, level);
    const std::size_t n = block[0];
    std::memcpy(list_copy.data(), block + 1, n * sizeof(std::uint32_t));
    return n;
}

void Graph::Impl::entry_snapshot(std::uint32_t *entry, int *top) const
{
    Guard guard(arena.h()->entry_lock, shared);
    *entry = arena.h()->entry;
    *top = arena.h()->top_level;
}

std::size_t Graph::Impl::scratch_bytes() const
{
    return held(candidates) + held(results) + held(batch_codes) + held(batch_ids) +
           held(batch_dists) + held(list_copy) + held(found) + held(found_range) + held(selected) +
           held(selected_flags) + held(merged_ids) + held(merged_dists) + held(merged_flags) +
           held(kept_ids) + held(own_ids) + held(own_dists);
}

std::size_t Graph::Impl::memory_used() const
{
    return (owned ? arena.bytes() : 0) + scratch_bytes() + visited.capacity_bytes();
}

bool Graph::Impl::reserve_insert_scratch(int level)
{
    const std::size_t ef = static_cast<std::size_t>(std::max(params.ef_construction, 1));
    const std::size_t levels_searched = static_cast<std::size_t>(level) + 1;
    auto growth = [](std::size_t have, std::size_t want, std::size_t unit) {
        return want > have ? (want - have) * unit : 0;
    };
    const std::size_t more =
        growth(found.capacity(), levels_searched * ef, sizeof(Neighbor)) +
        growth(found_range.capacity(), levels_searched, sizeof(std::pair<std::size_t, std::size_t>)) +
        growth(selected.capacity(), m0 + 1, sizeof(Neighbor)) + growth(selected_flags.capacity(), m0 + 1, 1) +
        growth(merged_ids.capacity(), m0 + 1, sizeof(std::uint32_t)) +
        growth(merged_dists.capacity(), m0 + 1, sizeof(float)) + growth(merged_flags.capacity(), m0 + 1, 1) +
        growth(kept_ids.capacity(), m0 + 1, sizeof(std::uint32_t)) +
        growth(list_copy.capacity(), m0 + 1, sizeof(std::uint32_t)) +
        growth(own_ids.capacity(), m0 + 1, sizeof(std::uint32_t)) +
        growth(own_dists.capacity(), m0 + 1, sizeof(float)) +
        growth(batch_codes.capacity(), m0 + 1, sizeof(void *)) +
        growth(batch_ids.capacity(), m0 + 1, sizeof(std::uint32_t)) +
        growth(batch_dists.capacity(), m0 + 1, sizeof(float)) +
        growth(candidates.capacity(), 2 * ef, sizeof(Neighbor)) +
        growth(results.capacity(), ef + 1, sizeof(Neighbor));
    if (more > 0 && !shared && memory_used() + more > params.memory_budget)
        return false;
    found.reserve(levels_searched * ef);
    found_range.reserve(levels_searched);
    selected.reserve(m0 + 1);
    selected_flags.reserve(m0 + 1);
    merged_ids.reserve(m0 + 1);
    merged_dists.reserve(m0 + 1);
    merged_flags.reserve(m0 + 1);
    kept_ids.resize(m0 + 1);   // written by index, within this size
    list_copy.resize(m0 + 1);  // likewise
    own_ids.resize(m0 + 1);
    own_dists.resize(m0 + 1);
    batch_codes.reserve(m0 + 1);
    batch_ids.reserve(m0 + 1);
    batch_dists.reserve(m0 + 1);
    candidates.reserve(2 * ef);
    results.reserve(ef + 1);
    ensure_batch_room(m0 + 1);  // within the capacity just reserved
    return true;
}

bool Graph::Impl::allocate_node(const void *code, std::size_t bytes, std::uint64_t label, int level,
                                std::uint32_t *id)
{
    const std::size_t upper = static_cast<std::size_t>(level) * block_bytes();
    const std::size_t var_code = fixed_bytes != 0 ? 0 : align8(bytes);
    if (!grow_for(record_bytes() + upper + var_code))
        return false;
    std::uint64_t upper_at = 0, code_at = 0;
    {
        Guard guard(arena.h()->alloc_lock, shared);
        ArenaHeader *h = arena.h();
        const std::uint32_t n = h->count.load(std::memory_order_relaxed);
        if (n >= std::numeric_limits<std::uint32_t>::max() - 1 ||
            arena.front_used() + record_bytes() + h->back_used + upper + var_code > h->bytes)
            return false;
        if (upper > 0)
            arena.take_back(upper, &upper_at);
        if (var_code > 0)
            arena.take_back(var_code, &code_at);
        h->count.store(n + 1, std::memory_order_release);
        *id = n;
    }
    unsigned char *rec = arena.record(*id);
    std::memset(rec, 0, record_bytes());
    arena.lock(*id).init();
    arena.field<std::uint8_t>(*id, rec_level) = static_cast<std::uint8_t>(level);
    arena.field<std::uint64_t>(*id, rec_first_label) = label;
    arena.field<std::uint64_t>(*id, rec_upper) = upper_at;
    arena.field<std::uint64_t>(*id, rec_code) = code_at;
    std::memcpy(const_cast<void *>(code_of(*id)), code, bytes);
    return true;
}

// ---- exact codes ---------------------------------------------------------------------------------

std::uint32_t Graph::Impl::find_twin(const void *code, std::size_t bytes) const
{
    const std::uint32_t *slots = arena.twin_slots();
    const std::size_t mask = arena.h()->twin_slots - 1;
    for (std::size_t s = code_hash(code, bytes) & mask;; s = (s + 1) & mask) {
        const std::uint32_t id = slots[s];
        if (id == no_twin)
            return no_twin;
        if (code_bytes_of(id) == bytes && std::memcmp(code_of(id), code, bytes) == 0)
            return id;
    }
}

bool Graph::Impl::reserve_twin_slot()
{
    ArenaHeader *h = arena.h();
    if ((h->twin_entries + 1) * 2 <= h->twin_slots)
        return true;
    const std::size_t slots = h->twin_slots * 2;
    if (!grow_for(slots * sizeof(std::uint32_t)))
        return false;
    h = arena.h();  // a private arena may have moved
    std::uint64_t table = 0;
    {
        Guard guard(h->alloc_lock, shared);
        if (!arena.take_back(slots * sizeof(std::uint32_t), &table))
            return false;
    }
    auto *fresh = reinterpret_cast<std::uint32_t *>(arena.back(table));
    std::memset(fresh, 0xff, slots * sizeof(std::uint32_t));
    const std::uint32_t *old = arena.twin_slots();
    for (std::size_t i = 0; i < h->twin_slots; ++i) {
        const std::uint32_t id = old[i];
        if (id == no_twin)
            continue;
        std::size_t s = code_hash(code_of(id), code_bytes_of(id)) & (slots - 1);
        while (fresh[s] != no_twin)
            s = (s + 1) & (slots - 1);
        fresh[s] = id;
    }
    h->twin_table = table;  // the old table stays behind, unused
    h->twin_slots = slots;
    return true;
}

void Graph::Impl::register_twin(std::uint32_t id, const void *code, std::size_t bytes)
{
    ArenaHeader *h = arena.h();
    std::uint32_t *slots = arena.twin_slots();
    const std::size_t mask = h->twin_slots - 1;
    for (std::size_t s = code_hash(code, bytes) & mask;; s = (s + 1) & mask) {
        const std::uint32_t other = slots[s];
        if (other == no_twin) {
            if ((h->twin_entries + 1) * 2 > h->twin_slots)
                return;  // full (a shared arena that could not grow the table): not recorded
            slots[s] = id;
            h->twin_entries++;
            return;
        }
        if (code_bytes_of(other) == bytes && std::memcmp(code_of(other), code, bytes) == 0) {
            slots[s] = id;  // later twins join the newest node
            return;
        }
    }
}

// ---- labels --------------------------------------------------------------------------------------

std::size_t Graph::Impl::labels_held(std::uint32_t id) const
{
    const std::uint64_t at = arena.field<std::uint64_t>(id, rec_labels);
    return at == 0 ? 1 : *reinterpret_cast<const std::uint32_t *>(arena.back(at));
}

bool Graph::Impl::has_label_room(std::uint32_t id) const
{
    return params.max_labels_per_node == 0 || labels_held(id) < params.max_labels_per_node;
}

bool Graph::Impl::add_label(std::uint32_t id, std::uint64_t label)
{
    std::uint64_t at = arena.field<std::uint64_t>(id, rec_labels);
    std::uint32_t count = 1, capacity = 1;
    if (at != 0) {
        const auto *head = reinterpret_cast<const std::uint32_t *>(arena.back(at));
        count = head[0];
        capacity = head[1];
    }
    if (count == capacity) {
        const std::uint32_t grown = capacity < 4 ? 4 : capacity * 2;
        const std::size_t bytes = 8 + sizeof(std::uint64_t) * grown;
        if (!grow_for(bytes))
            return false;
        std::uint64_t fresh;
        {
            Guard guard(arena.h()->alloc_lock, shared);
            if (!arena.take_back(bytes, &fresh))
                return false;
        }
        auto *head = reinterpret_cast<std::uint32_t *>(arena.back(fresh));
        auto *labels = reinterpret_cast<std::uint64_t *>(head + 2);
        if (at == 0)
            labels[0] = arena.field<std::uint64_t>(id, rec_first_label);
        else
            std::memcpy(labels, arena.back(at) + 8, sizeof(std::uint64_t) * count);
        head[0] = count;
        head[1] = grown;
        arena.field<std::uint64_t>(id, rec_labels) = fresh;  // the old array stays behind, unused
        at = fresh;
    }
    auto *head = reinterpret_cast<std::uint32_t *>(arena.back(at));
    reinterpret_cast<std::uint64_t *>(head + 2)[head[0]] = label;
    head[0] = head[0] + 1;
    return true;
}

std::pair<const std::uint64_t *, std::size_t> Graph::Impl::labels_of(std::uint32_t id) const
{
    const std::uint64_t at = arena.field<std::uint64_t>(id, rec_labels);
    if (at == 0)
        return {&arena.field<std::uint64_t>(id, rec_first_label), 1};
    const auto *head = reinterpret_cast<const std::uint32_t *>(arena.back(at));
    return {reinterpret_cast<const std::uint64_t *>(head + 2), head[0]};
}

}  // namespace quiver::core::hnsw
