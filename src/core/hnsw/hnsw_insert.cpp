// Insertion into the in-memory HNSW graph: duplicates, the neighbour-selection heuristic with
// its per-link verdicts, back-links. Storage is reserved first (scratch, the node, a slot in the
// exact-code table), so nothing changes when an insertion does not fit, and nothing allocates
// after that. In a shared arena a node's lists change only under its lock, and no lock is held
// while taking another.
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

bool Graph::Impl::add_member(std::uint32_t node, int level, Neighbor added, bool may_drop)
{
    std::uint32_t *block = link_block(node, level);
    float *dists = dist_block(node, level);
    std::uint8_t *flags = flag_block(node, level);
    const std::size_t n = block[0];
    const std::size_t cap = max_links(level);
    for (std::size_t i = 0; i < n; ++i)
        if (block[1 + i] == added.id)
            return true;

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
    Guard guard(arena.lock(node), shared);
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
    // What `added` links to, read first (its own lock, released before owner's is taken).
    const std::size_t na = read_list(added.id, 0);
    std::uint32_t displaced = no_twin;
    {
        Guard guard(arena.lock(owner), shared);
        std::uint32_t *block = link_block(owner, 0);
        float *dists = dist_block(owner, 0);
        std::uint8_t *flags = flag_block(owner, 0);
        const std::size_t n = block[0];
        if (holds(owner, 0, added.id))
            return;
        if (n == m0) {
            // The member `added` replaces: the farthest one `added` links to itself (it stays
            // reachable through `added`), else the farthest, which then moves into the free
            // slot of `added`'s list.
            std::size_t victim = n - 1;
            bool found = false;
            for (std::size_t i = n; i-- > 0 && !found;)
                for (std::size_t k = 0; k < na && !found; ++k)
                    if (list_copy[k] == block[1 + i]) {
                        victim = i;
                        found = true;
                    }
            if (!found)
                displaced = block[1 + victim];
            const bool victim_kept = flags[victim] != 0;
            for (std::size_t i = victim; i + 1 < n; ++i) {
                block[1 + i] = block[2 + i];
                dists[i] = dists[i + 1];
                flags[i] = flags[i + 1];
            }
            block[0] = static_cast<std::uint32_t>(n - 1);
            if (victim_kept)
                recompute_verdicts(block + 1, dists, flags, n - 1, victim);
        }
        add_member(owner, 0, added, false);
    }
    if (displaced == no_twin)
        return;
    Guard guard(arena.lock(added.id), shared);
    if (!holds(added.id, 0, displaced) && link_block(added.id, 0)[0] < m0)
        add_member(added.id, 0, Neighbor{distance(code_of(added.id), displaced), displaced}, false);
}

void Graph::Impl::connect(std::uint32_t id, int level, const Neighbor *found_here, std::size_t n)
{
    (void)found_here;
    (void)n;
    // The node's own list was written by add() before any level was linked back, so a walk
    // that meets it on a higher level already finds its lists on the lower ones. Its list can
    // change meanwhile (other insertions linking back to it): link back from a copy.
    std::size_t links;
    {
        Guard guard(arena.lock(id), shared);
        const std::uint32_t *block = link_block(id, level);
        const float *d = dist_block(id, level);
        links = block[0];
        for (std::size_t i = 0; i < links; ++i) {
            own_ids[i] = block[1 + i];
            own_dists[i] = d[i];
        }
    }
    bool linked = false;
    for (std::size_t i = 0; i < links; ++i)
        linked |= link_back(own_ids[i], Neighbor{own_dists[i], id}, level);
    // Level 0 is where every walk ends: a node that no neighbour took (all of their lists
    // prefer their members, as happens when distances tie) would be unreachable.
    if (level == 0 && !linked && links > 0)
        force_link(own_ids[0], Neighbor{own_dists[0], id});
}

Status Graph::Impl::add(const void *code, std::size_t bytes, std::uint64_t label, std::uint32_t *id)
{
    // A node with the same code takes the label when it has room.
    {
        Guard guard(arena.h()->twin_lock, shared);
        const std::uint32_t twin = find_twin(code, bytes);
        if (twin != no_twin && has_label_room(twin)) {
            if (!add_label(twin, label))
                return Status::over_budget;
            *id = twin;
            return Status::duplicate;
        }
        if (!reserve_twin_slot() && !shared)
            return Status::over_budget;
    }

    std::uint64_t state = rng;
    const int level = random_level(&state, static_cast<int>(m));
    if (!reserve_insert_scratch(level) || !allocate_node(code, bytes, label, level, id))
        return Status::over_budget;
    rng = state;
    if (!shared)
        visited.resize(node_count());  // within the capacity reserved when the arena grew

    std::uint32_t entry;
    int top;
    {
        Guard guard(arena.h()->entry_lock, shared);
        ArenaHeader *h = arena.h();
        if (h->top_level < 0) {
            h->entry = *id;
            h->top_level = level;
        }
        entry = h->entry;
        top = h->top_level;
    }
    if (entry != *id) {
        // Search every level first, write the node's lists, then link back level by level.
        const int deepest_shared = std::min(level, top);
        Neighbor start = descend(code, entry, top, deepest_shared);
        found.clear();
        found_range.assign(static_cast<std::size_t>(deepest_shared) + 1, {0, 0});
        const std::size_t ef = static_cast<std::size_t>(std::max(params.ef_construction, 1));
        for (int l = deepest_shared; l >= 0; --l) {
            const std::size_t first = found.size();
            search_level(code, start, ef, l, &found);
            found_range[l] = {first, found.size()};
            start = found[first];
        }
        for (int l = deepest_shared; l >= 0; --l) {
            const auto [first, last] = found_range[l];
            // Level 0 keeps one slot free for a member that force_link displaces.
            select_neighbors(found.data() + first, last - first, max_links(l) - (l == 0 ? 1 : 0));
            write_selected(*id, l);
        }
        for (int l = deepest_shared; l >= 0; --l) {
            const auto [first, last] = found_range[l];
            connect(*id, l, found.data() + first, last - first);
        }
        if (level > top) {
            Guard guard(arena.h()->entry_lock, shared);
            if (level > arena.h()->top_level) {
                arena.h()->top_level = level;
                arena.h()->entry = *id;
            }
        }
    }
    Guard guard(arena.h()->twin_lock, shared);
    register_twin(*id, code, bytes);
    return Status::ok;
}

}  // namespace quiver::core::hnsw
