// Memory of the in-memory HNSW graph: what it holds (counted against the budget) and how its
// arrays grow. Growth is planned before anything changes, so an insertion that does not fit
// returns over_budget with the graph untouched. Only reserve() allocates (it may throw).
#include "hnsw_graph_impl.h"

namespace quiver::core::hnsw {

std::size_t Graph::Impl::node_bytes() const
{
    return sizeof(std::uint8_t) + sizeof(std::uint64_t) + sizeof(std::uint32_t) +
           sizeof(std::uint32_t) * level0_stride() + (sizeof(float) + sizeof(std::uint8_t)) * m0 +
           sizeof(std::uint16_t) +
           (fixed_bytes != 0 ? fixed_bytes : sizeof(std::uint64_t));
}

std::size_t Graph::Impl::block_bytes() const
{
    return sizeof(std::uint32_t) * upper_stride() + (sizeof(float) + sizeof(std::uint8_t)) * m;
}

std::size_t Graph::Impl::scratch_bytes() const
{
    return held(candidates) + held(results) + held(batch_codes) + held(batch_ids) +
           held(batch_dists) + held(found) + held(found_range) + held(selected) + held(merged) +
           held(selected_flags) + held(merged_ids) + held(merged_dists) + held(merged_flags) +
           held(kept_ids);
}

std::size_t Graph::Impl::label_bytes() const
{
    return all_labels.bucket_count() * sizeof(void *) + label_entry_bytes;
}

std::size_t Graph::Impl::memory_used() const
{
    return held(levels) + held(first_labels) + held(upper_first) + held(links0) + held(dists0) +
           held(flags0) + held(upper_flags) +
           held(codes) + held(code_offsets) + visited.capacity_bytes() + held(upper_links) +
           held(upper_dists) + label_bytes() + twins.bytes() + scratch_bytes();
}

bool Graph::Impl::plan_growth(std::size_t new_blocks, std::size_t new_code_bytes,
                              std::size_t extra_bytes, Growth *g) const
{
    const std::size_t code_arena = fixed_bytes != 0 ? 0 : codes.capacity();
    const std::size_t need_nodes = std::max(node_capacity, count + 1);
    const std::size_t need_blocks = std::max(upper_blocks_capacity(), upper_blocks + new_blocks);
    const std::size_t code_used = fixed_bytes != 0 ? 0 : codes.size();
    const std::size_t need_code = std::max(code_arena, code_used + new_code_bytes);

    const std::size_t twin_slots = std::max(twins.slots(), ExactCodeIndex::slots_for(count + 1));

    const std::size_t minimum_bytes =
        memory_used() + extra_bytes + (need_nodes - node_capacity) * node_bytes() +
        (need_blocks - upper_blocks_capacity()) * block_bytes() + (need_code - code_arena) +
        (ExactCodeIndex::bytes_for_slots(twin_slots) - twins.bytes());
    if (minimum_bytes > params.memory_budget)
        return false;
    std::size_t spare = params.memory_budget - minimum_bytes;
    g->twin_slots = twin_slots;

    // Hand the spare budget out as headroom: nodes first, they grow on every add.
    auto headroom = [&spare](std::size_t need, std::size_t want, std::size_t unit) {
        const std::size_t extra = std::min(want - need, spare / unit);
        spare -= extra * unit;
        return need + extra;
    };
    g->nodes = headroom(need_nodes, wanted(node_capacity, count + 1, 64), node_bytes());
    g->blocks = headroom(
        need_blocks, wanted(upper_blocks_capacity(), upper_blocks + new_blocks, 16), block_bytes());
    g->code_arena =
        fixed_bytes != 0
            ? 0
            : headroom(need_code, wanted(code_arena, code_used + new_code_bytes, 4096), 1);
    return true;
}

void Graph::Impl::reserve(const Growth &g)
{
    if (g.nodes > node_capacity) {
        levels.reserve(g.nodes);
        first_labels.reserve(g.nodes);
        upper_first.reserve(g.nodes);
        links0.reserve(g.nodes * level0_stride());
        dists0.reserve(g.nodes * m0);
        flags0.reserve(g.nodes * m0);
        visited.reserve(g.nodes);
        if (fixed_bytes != 0)
            codes.reserve(g.nodes * fixed_bytes);
        else
            code_offsets.reserve(g.nodes);
        node_capacity = g.nodes;
    }
    upper_links.reserve(g.blocks * upper_stride());
    upper_dists.reserve(g.blocks * m);
    upper_flags.reserve(g.blocks * m);
    if (fixed_bytes == 0)
        codes.reserve(g.code_arena);
    if (g.twin_slots > twins.slots())
        twins.rebuild(g.twin_slots, count, stored_code());
}

std::size_t Graph::Impl::insert_scratch_growth(int level) const
{
    const std::size_t ef = static_cast<std::size_t>(std::max(params.ef_construction, 1));
    const std::size_t levels_searched = static_cast<std::size_t>(level) + 1;
    auto growth = [](std::size_t have, std::size_t want, std::size_t unit) {
        return want > have ? (want - have) * unit : 0;
    };
    return growth(found.capacity(), levels_searched * ef, sizeof(Neighbor)) +
           growth(found_range.capacity(), levels_searched,
                  sizeof(std::pair<std::size_t, std::size_t>)) +
           growth(selected.capacity(), m0 + 1, sizeof(Neighbor)) +
           growth(merged.capacity(), m0 + 1, sizeof(Neighbor)) +
           growth(selected_flags.capacity(), m0 + 1, 1) +
           growth(merged_ids.capacity(), m0 + 1, sizeof(std::uint32_t)) +
           growth(merged_dists.capacity(), m0 + 1, sizeof(float)) +
           growth(merged_flags.capacity(), m0 + 1, 1) +
           growth(kept_ids.capacity(), m0 + 1, sizeof(std::uint32_t)) +
           growth(batch_codes.capacity(), m0 + 1, sizeof(void *)) +
           growth(batch_ids.capacity(), m0 + 1, sizeof(std::uint32_t)) +
           growth(batch_dists.capacity(), m0 + 1, sizeof(float)) +
           growth(candidates.capacity(), 2 * ef, sizeof(Neighbor)) +
           growth(results.capacity(), ef + 1, sizeof(Neighbor));
}

void Graph::Impl::reserve_insert_scratch(int level)
{
    const std::size_t ef = static_cast<std::size_t>(std::max(params.ef_construction, 1));
    const std::size_t levels_searched = static_cast<std::size_t>(level) + 1;
    found.reserve(levels_searched * ef);
    found_range.reserve(levels_searched);
    selected.reserve(m0 + 1);
    merged.reserve(m0 + 1);
    selected_flags.reserve(m0 + 1);
    merged_ids.reserve(m0 + 1);
    merged_dists.reserve(m0 + 1);
    merged_flags.reserve(m0 + 1);
    kept_ids.resize(m0 + 1);  // written by index, within this size
    batch_codes.reserve(m0 + 1);
    batch_ids.reserve(m0 + 1);
    batch_dists.reserve(m0 + 1);
    candidates.reserve(2 * ef);
    results.reserve(ef + 1);
    ensure_batch_room(m0 + 1);  // within the capacity just reserved
}

}  // namespace quiver::core::hnsw
