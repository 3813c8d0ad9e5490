// Searches of the in-memory HNSW graph: greedy descent through the upper levels and the
// best-first ef search of one level, shared by insertion and Graph::search. Lists are read
// through read_list (a copy taken under the node's lock when the arena is shared); nothing here
// changes the graph, only the scratch buffers and visited marks.
#include "hnsw_graph_impl.h"

namespace quiver::core::hnsw {

Neighbor Graph::Impl::greedy_closest(const void *query, Neighbor current, int level) const
{
    for (bool moved = true; moved;) {
        moved = false;
        const std::size_t n = read_list(current.id, level);
        ensure_batch_room(n);
        for (std::size_t i = 0; i < n; ++i) {
            batch_ids[i] = list_copy[i];
            batch_codes[i] = code_of(list_copy[i]);
            prefetch_code(batch_codes[i], code_bytes_of(list_copy[i]));
        }
        batch_distances(query, n);
        for (std::size_t i = 0; i < n; ++i) {
            const Neighbor candidate{batch_dists[i], batch_ids[i]};
            if (closer(candidate, current)) {
                current = candidate;
                moved = true;
            }
        }
    }
    return current;
}

std::size_t Graph::Impl::gather_unvisited(std::size_t n) const
{
    for (std::size_t i = 0; i < n; ++i)
        prefetch(visited.tag_address(list_copy[i]));
    std::size_t fresh = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t id = list_copy[i];
        if (!visited.first_visit(id))
            continue;
        batch_ids[fresh] = id;
        batch_codes[fresh] = code_of(id);
        prefetch_code(batch_codes[fresh], code_bytes_of(id));
        ++fresh;
    }
    return fresh;
}

bool Graph::Impl::offer_result(const Neighbor &next, std::size_t ef) const
{
    if (results.size() < ef) {
        results.push_back(next);
        std::push_heap(results.begin(), results.end(), FartherFirst());
        return true;
    }
    if (!closer(next, results.front()))
        return false;
    replace_top(results, next, FartherFirst());
    return true;
}

void Graph::Impl::search_level(const void *query, Neighbor start, std::size_t ef, int level,
                               std::vector<Neighbor> *out) const
{
    visited.start_search();
    visited.mark(start.id);
    candidates.assign(1, start);
    results.assign(1, start);
    ensure_batch_room(max_links(level));

    while (!candidates.empty()) {
        const Neighbor current = candidates.front();
        if (results.size() >= ef && current.distance > results.front().distance)
            break;
        std::pop_heap(candidates.begin(), candidates.end(), CloserFirst());
        candidates.pop_back();
        // The next candidate's links load while this one's distances are computed.
        if (!candidates.empty())
            prefetch(link_block(candidates.front().id, level));

        const std::size_t fresh = gather_unvisited(read_list(current.id, level));
        if (fresh == 0)
            continue;
        batch_distances(query, fresh);
        for (std::size_t i = 0; i < fresh; ++i) {
            const Neighbor next{batch_dists[i], batch_ids[i]};
            if (offer_result(next, ef)) {
                prefetch(link_block(next.id, level));  // most candidates get expanded
                candidates.push_back(next);
                std::push_heap(candidates.begin(), candidates.end(), CloserFirst());
            }
        }
    }
    std::sort_heap(results.begin(), results.end(), FartherFirst());
    out->insert(out->end(), results.begin(), results.end());
}

Neighbor Graph::Impl::descend(const void *query, std::uint32_t entry, int top, int target_level) const
{
    Neighbor current{distance(query, entry), entry};
    for (int level = top; level > target_level; --level)
        current = greedy_closest(query, current, level);
    return current;
}

std::vector<Neighbor> Graph::Impl::search(const void *query, std::size_t k, std::size_t ef) const
{
    std::vector<Neighbor> out;
    std::uint32_t entry;
    int top;
    entry_snapshot(&entry, &top);
    if (top < 0 || k == 0)
        return out;
    if (list_copy.size() < m0 + 1)
        list_copy.resize(m0 + 1);
    if (!shared)
        visited.resize(node_count());
    const Neighbor start = descend(query, entry, top, 0);
    search_level(query, start, std::max(ef, k), 0, &out);
    if (out.size() > k)
        out.resize(k);
    return out;
}

}  // namespace quiver::core::hnsw
