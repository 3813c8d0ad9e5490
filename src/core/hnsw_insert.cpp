// Insertion into the in-memory HNSW graph: duplicate labels, the neighbour-selection heuristic,
// back-links with pruning. Searches first and commits last, so nothing changes when the
// insertion does not fit; after the commit starts nothing allocates.
#include "hnsw_graph_impl.h"

#include <cstring>

namespace quiver::core::hnsw {

void Graph::Impl::select_neighbors(const Neighbor *sorted, std::size_t n, std::size_t limit)
{
    selected.clear();
    selected_flags.clear();
    for (std::size_t c = 0; c < n && selected.size() < limit; ++c) {
        if (diverse(sorted[c])) {
            selected.push_back(sorted[c]);
            selected_flags.push_back(1);
        }
    }
    if (selected.size() == limit || selected.size() == n)
        return;
    // Top up with the closest candidates the heuristic passed over (the paper's
    // keepPrunedConnections, as pgvector does): a list that the heuristic leaves half empty
    // (inner product above all, whose "distance" between two stored vectors says little about
    // direction) gives walks fewer ways on. Then closest first again, each member flagged with
    // the heuristic's verdict (see flag_block).
    std::size_t kept = selected.size();
    for (std::size_t c = 0, k = 0; c < n && selected.size() < limit; ++c) {
        if (k < kept && selected[k].id == sorted[c].id) {
            ++k;
            continue;
        }
        selected.push_back(sorted[c]);
        selected_flags.push_back(0);
    }
    // Insertion sort: a few dozen entries, and nothing may allocate during an insertion.
    for (std::size_t i = kept; i < selected.size(); ++i) {
        const Neighbor x = selected[i];
        const std::uint8_t f = selected_flags[i];
        std::size_t j = i;
        while (j > 0 && closer(x, selected[j - 1])) {
            selected[j] = selected[j - 1];
            selected_flags[j] = selected_flags[j - 1];
            --j;
        }
        selected[j] = x;
        selected_flags[j] = f;
    }
}

bool Graph::Impl::diverse(const Neighbor &candidate) const
{
    const void *code = code_of(candidate.id);
    constexpr std::size_t group = 4;
    for (std::size_t start = 0; start < selected.size(); start += group) {
        const std::size_t n = std::min(group, selected.size() - start);
        for (std::size_t i = 0; i < n; ++i)
            batch_codes[i] = code_of(selected[start + i].id);
        batch_distances(code, n);
        for (std::size_t i = 0; i < n; ++i)
            if (batch_dists[i] < candidate.distance)
                return false;
    }
    return true;
}

bool Graph::Impl::has_label_room(std::uint32_t id) const
{
    if (params.max_labels_per_node == 0)
        return true;
    auto it = all_labels.find(id);
    const std::size_t held_labels = it == all_labels.end() ? 1 : it->second.size();
    return held_labels < params.max_labels_per_node;
}

Status Graph::Impl::add_duplicate_label(std::uint32_t id, std::uint64_t label)
{
    auto it = all_labels.find(id);
    std::size_t growth = 0;
    if (it == all_labels.end()) {
        growth = duplicate_entry_overhead + 2 * sizeof(std::uint64_t) +
                 (all_labels.bucket_count() + 16) * 2 * sizeof(void *);
    } else if (it->second.size() == it->second.capacity()) {
        growth = it->second.capacity() * sizeof(std::uint64_t);
    }
    if (memory_used() + growth > params.memory_budget)
        return Status::over_budget;
    if (it == all_labels.end()) {
        std::vector<std::uint64_t> labels;
        labels.reserve(2);
        labels.push_back(first_labels[id]);
        labels.push_back(label);
        all_labels.emplace(id, std::move(labels));  // strong guarantee: unchanged on throw
        label_entry_bytes += duplicate_entry_overhead + 2 * sizeof(std::uint64_t);
    } else {
        const std::size_t before = held(it->second);
        it->second.push_back(label);
        label_entry_bytes += held(it->second) - before;
    }
    return Status::ok;
}

std::uint32_t Graph::Impl::append_node(const void *code, std::size_t bytes, std::uint64_t label,
                                       int level, std::uint32_t full_twin)
{
    const auto id = static_cast<std::uint32_t>(count);
    levels.push_back(static_cast<std::uint8_t>(level));
    first_labels.push_back(label);
    upper_first.push_back(level > 0 ? static_cast<std::uint32_t>(upper_blocks) : 0);
    links0.resize(links0.size() + level0_stride(), 0);
    dists0.resize(dists0.size() + m0, 0.0f);
    flags0.resize(flags0.size() + m0, 0);
    visited.resize(count + 1);
    if (fixed_bytes != 0) {
        codes.resize(codes.size() + fixed_bytes);
    } else {
        code_offsets.push_back(codes.size());
        codes.resize(codes.size() + bytes);
    }
    std::memcpy(const_cast<void *>(code_of(id)), code, bytes);
    if (full_twin == ExactCodeIndex::empty)
        twins.insert(id, code, bytes);
    else
        twins.replace(full_twin, id, code, bytes);
    if (level > 0) {
        upper_blocks += static_cast<std::size_t>(level);
        upper_links.resize(upper_blocks * upper_stride(), 0);
        upper_dists.resize(upper_blocks * m, 0.0f);
        upper_flags.resize(upper_blocks * m, 0);
    }
    ++count;
    return id;
}

void Graph::Impl::write_selected(std::uint32_t id, int level)
{
    std::uint32_t *block = link_block(id, level);
    float *dists = dist_block(id, level);
    std::uint8_t *flags = flag_block(id, level);
    block[0] = static_cast<std::uint32_t>(selected.size());
    for (std::size_t i = 0; i < selected.size(); ++i) {
        block[1 + i] = selected[i].id;
        dists[i] = selected[i].distance;
        flags[i] = selected_flags[i];
    }
}

bool Graph::Impl::closer_to_any(const void *code, float limit, const std::uint32_t *ids,
                                std::size_t n) const
{
    constexpr std::size_t group = 4;
    for (std::size_t start = 0; start < n; start += group) {
        const std::size_t g = std::min(group, n - start);
        for (std::size_t i = 0; i < g; ++i)
            batch_codes[i] = code_of(ids[start + i]);
        batch_distances(code, g);
        for (std::size_t i = 0; i < g; ++i)
            if (batch_dists[i] < limit)
                return true;
    }
    return false;
}

void Graph::Impl::recompute_verdicts(const std::uint32_t *ids, const float *dists,
                                     std::uint8_t *flags, std::size_t n, std::size_t from) const
{
    std::size_t nk = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (i >= from)
            flags[i] = closer_to_any(code_of(ids[i]), dists[i], kept_ids.data(), nk) ? 0 : 1;
        if (flags[i])
            kept_ids[nk++] = ids[i];
    }
}

void Graph::Impl::recompute_flags(std::uint32_t node, int level, std::size_t from)
{
    recompute_verdicts(link_block(node, level) + 1, dist_block(node, level), flag_block(node, level),
                       link_block(node, level)[0], from);
}

bool Graph::Impl::add_member(std::uint32_t node, int level, Neighbor added, bool may_drop)
{
    std::uint32_t *block = link_block(node, level);
    float *dists = dist_block(node, level);
    std::uint8_t *flags = flag_block(node, level);
    const std::size_t n = block[0];
    const std::size_t cap = max_links(level);

    // The list with `added` in its place (closest first), in scratch.
    std::size_t p = 0;
    while (p < n && !closer(added, Neighbor{dists[p], block[1 + p]}))
        ++p;
    merged_ids.clear();
    merged_dists.clear();
    merged_flags.clear();
    for (std::size_t i = 0; i <= n; ++i) {
        if (i == p) {
            merged_ids.push_back(added.id);
            merged_dists.push_back(added.distance);
            merged_flags.push_back(0);
        }
        if (i < n) {
            merged_ids.push_back(block[1 + i]);
            merged_dists.push_back(dists[i]);
            merged_flags.push_back(flags[i]);
        }
    }
    // The heuristic's verdict on `added`: kept unless a kept member before it is closer to it
    // than `node` is. If kept, a kept member behind it that it is closer to turns unkept, and
    // members behind that one may turn either way: recomputed from there.
    std::size_t nk = 0;
    for (std::size_t i = 0; i < p; ++i)
        if (merged_flags[i])
            kept_ids[nk++] = merged_ids[i];
    const void *added_code = code_of(added.id);
    merged_flags[p] = closer_to_any(added_code, added.distance, kept_ids.data(), nk) ? 0 : 1;
    if (merged_flags[p]) {
        for (std::size_t i = p + 1; i <= n; ++i) {
            if (!merged_flags[i])
                continue;
            batch_codes[0] = code_of(merged_ids[i]);
            batch_distances(added_code, 1);
            if (batch_dists[0] < merged_dists[i]) {
                recompute_verdicts(merged_ids.data(), merged_dists.data(), merged_flags.data(), n + 1, i);
                break;
            }
        }
    }

    std::size_t total = n + 1;
    if (total > cap) {
        // A full list loses one member, as re-selecting with the heuristic and topping up
        // would: the farthest one the heuristic does not keep, else the farthest.
        std::size_t drop = n;
        for (std::size_t i = n + 1; i-- > 0;)
            if (!merged_flags[i]) {
                drop = i;
                break;
            }
        if (drop == p || !may_drop)
            return false;
        merged_ids.erase(merged_ids.begin() + static_cast<std::ptrdiff_t>(drop));
        merged_dists.erase(merged_dists.begin() + static_cast<std::ptrdiff_t>(drop));
        merged_flags.erase(merged_flags.begin() + static_cast<std::ptrdiff_t>(drop));
        total = cap;
    }
    block[0] = static_cast<std::uint32_t>(total);
    for (std::size_t i = 0; i < total; ++i) {
        block[1 + i] = merged_ids[i];
        dists[i] = merged_dists[i];
        flags[i] = merged_flags[i];
    }
    return true;
}

bool Graph::Impl::link_back(std::uint32_t node, Neighbor added, int level)
{
    return add_member(node, level, added, true);
}

bool Graph::Impl::holds(std::uint32_t node, int level, std::uint32_t id) const
{
    const std::uint32_t *block = link_block(node, level);
    for (std::uint32_t i = 0; i < block[0]; ++i)
        if (block[1 + i] == id)
            return true;
    return false;
}

void Graph::Impl::force_link(std::uint32_t owner, Neighbor added)
{
    std::uint32_t *block = link_block(owner, 0);
    float *dists = dist_block(owner, 0);
    const std::size_t n = block[0];
    if (n < m0) {
        add_member(owner, 0, added, false);
        return;
    }
    // The member `added` replaces: the farthest one `added` links to itself (it stays reachable
    // through `added`), else the farthest, which then moves into the free slot of `added`'s list.
    std::size_t victim = n - 1;
    for (std::size_t i = n; i-- > 0;)
        if (holds(added.id, 0, block[1 + i])) {
            victim = i;
            break;
        }
    const std::uint32_t displaced = block[1 + victim];
    std::uint8_t *flags = flag_block(owner, 0);
    const bool victim_kept = flags[victim] != 0;
    for (std::size_t i = victim; i + 1 < n; ++i) {
        block[1 + i] = block[2 + i];
        dists[i] = dists[i + 1];
        flags[i] = flags[i + 1];
    }
    block[0] = static_cast<std::uint32_t>(n - 1);
    if (victim_kept)
        recompute_flags(owner, 0, victim);
    add_member(owner, 0, added, false);
    if (!holds(added.id, 0, displaced) && link_block(added.id, 0)[0] < m0)
        add_member(added.id, 0, Neighbor{distance(code_of(added.id), displaced), displaced}, false);
}

void Graph::Impl::connect(std::uint32_t id, int level, const Neighbor *found_here, std::size_t n)
{
    // Level 0 keeps one slot free for a member that force_link displaces.
    select_neighbors(found_here, n, max_links(level) - (level == 0 ? 1 : 0));
    write_selected(id, level);
    // link_back reuses `selected`; walk the node's own (just written) list instead.
    const std::uint32_t *block = link_block(id, level);
    const float *dists = dist_block(id, level);
    const std::size_t links = block[0];
    bool linked = false;
    for (std::size_t i = 0; i < links; ++i)
        linked |= link_back(block[1 + i], Neighbor{dists[i], id}, level);
    // Level 0 is where every walk ends: a node that no neighbour took (all of their lists
    // prefer their members, as happens when distances tie) would be unreachable.
    if (level == 0 && !linked && links > 0)
        force_link(block[1], Neighbor{dists[0], id});
}

Status Graph::Impl::add_first(const void *code, std::size_t bytes, std::uint64_t label,
                              std::uint32_t *id)
{
    std::uint64_t state = rng;
    const int level = random_level(&state, static_cast<int>(m));
    Growth g;
    if (!plan_growth(static_cast<std::size_t>(level), fixed_bytes ? 0 : bytes,
                     insert_scratch_growth(0), &g))
        return Status::over_budget;
    reserve(g);
    reserve_insert_scratch(0);
    *id = append_node(code, bytes, label, level, ExactCodeIndex::empty);
    entry = *id;
    top_level = level;
    rng = state;
    return Status::ok;
}

Status Graph::Impl::add(const void *code, std::size_t bytes, std::uint64_t label, std::uint32_t *id)
{
    const std::uint32_t twin = twins.find(code, bytes, stored_code());
    if (twin != ExactCodeIndex::empty && has_label_room(twin)) {
        const Status s = add_duplicate_label(twin, label);
        if (s == Status::ok)
            *id = twin;
        return s == Status::ok ? Status::duplicate : s;
    }
    if (count == 0)
        return add_first(code, bytes, label, id);
    if (count >= std::numeric_limits<std::uint32_t>::max())
        return Status::over_budget;

    std::uint64_t state = rng;
    const int level = random_level(&state, static_cast<int>(m));
    const std::size_t code_growth = fixed_bytes ? 0 : bytes;
    Growth g;
    if (!plan_growth(static_cast<std::size_t>(level), code_growth, insert_scratch_growth(level),
                     &g))
        return Status::over_budget;
    reserve_insert_scratch(level);

    // Search every level before linking any, so nothing has changed if the growth below
    // does not fit.
    const int deepest_shared = std::min(level, top_level);
    Neighbor start = descend(code, deepest_shared);
    found.clear();
    found_range.assign(static_cast<std::size_t>(deepest_shared) + 1, {0, 0});
    const std::size_t ef = static_cast<std::size_t>(std::max(params.ef_construction, 1));
    for (int l = deepest_shared; l >= 0; --l) {
        const std::size_t first = found.size();
        search_level(code, start, ef, l, &found);
        found_range[l] = {first, found.size()};
        start = found[first];
    }

    if (!plan_growth(static_cast<std::size_t>(level), code_growth, 0, &g))
        return Status::over_budget;
    reserve(g);

    // Commit: from here on nothing allocates.
    *id = append_node(code, bytes, label, level, twin);
    for (int l = deepest_shared; l >= 0; --l) {
        const auto [first, last] = found_range[l];
        connect(*id, l, found.data() + first, last - first);
    }
    if (level > top_level) {
        top_level = level;
        entry = *id;
    }
    rng = state;
    return Status::ok;
}

}  // namespace quiver::core::hnsw
