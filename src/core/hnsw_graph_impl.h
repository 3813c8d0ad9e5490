// Private to the core: the state of an in-memory HNSW graph (Graph::Impl) and the small inline
// helpers its translation units share (hnsw_graph.cpp: API; hnsw_memory.cpp: budget and
// growth; hnsw_search.cpp: searches; hnsw_insert.cpp: insertion). Nothing here throws on its
// own except where a comment says std::bad_alloc may escape to Graph::add's catch.
//
// Layout (hnswlib's, with distances kept beside the links):
//   level 0   links0[id * (1 + 2m)]  = count, then up to 2m neighbour ids, closest first;
//             dists0[id * 2m]        = their distances to `id` (so pruning an overflowing list
//                                      needs no distance from `id` recomputed)
//   level >=1 one block per (node, level) in upper_links (stride 1 + m) / upper_dists
//             (stride m); a node of level L owns blocks upper_first[id] .. + L - 1
//   codes     one arena: fixed stride, or (sparse) packed with offsets
//   labels    first label per node; all labels of a node that received duplicates in a map
//   twins     a hash index of the exact code bytes, to recognise duplicates (hnsw_code_index.h)
#pragma once
#include "quiver/core/hnsw_graph.h"
#include "quiver/core/visited.h"
#include "hnsw_code_index.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace quiver::core::hnsw {

inline constexpr float infinite_distance = std::numeric_limits<float>::infinity();

// Strict total order on (distance, id) so heaps and sorts, hence graphs, are deterministic.
inline bool closer(const Neighbor &a, const Neighbor &b)
{
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
}
struct FartherFirst {  // max-heap on distance: the worst result on top
    bool operator()(const Neighbor &a, const Neighbor &b) const { return closer(a, b); }
};
struct CloserFirst {  // min-heap on distance: the best candidate on top
    bool operator()(const Neighbor &a, const Neighbor &b) const { return closer(b, a); }
};

// Replaces the top of a binary heap (ordered by `less`, largest on top) by `value` and sifts it
// down: one pass where pop_heap + push_heap would make two.
template <class Less>
inline void replace_top(std::vector<Neighbor> &heap, const Neighbor &value, Less less)
{
    const std::size_t n = heap.size();
    std::size_t hole = 0;
    for (;;) {
        std::size_t child = 2 * hole + 1;
        if (child >= n)
            break;
        if (child + 1 < n && less(heap[child], heap[child + 1]))
            ++child;
        if (!less(value, heap[child]))
            break;
        heap[hole] = heap[child];
        hole = child;
    }
    heap[hole] = value;
}

// NaN (possible only from inf - inf in a metric) would break every ordering: treat it as far.
inline float sane(float d) { return d == d ? d : infinite_distance; }

inline void prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

// Prefetch the first lines of a code: the kernels stream the rest, which the hardware prefetcher
// then follows.
inline void prefetch_code(const void *code, std::size_t bytes)
{
    const char *p = static_cast<const char *>(code);
    const std::size_t lines = bytes > 1024 ? 16 : (bytes + 63) / 64;
    for (std::size_t i = 0; i < lines; ++i)
        prefetch(p + 64 * i);
}

// Bytes held by a vector, counted against the budget.
template <class T> std::size_t held(const std::vector<T> &v) { return v.capacity() * sizeof(T); }

// Bookkeeping charged per map entry of a node with duplicates (node, bucket, vector header);
// generous on purpose, the map is small and an underestimate would break the budget promise.
inline constexpr std::size_t duplicate_entry_overhead = 96;

struct Graph::Impl {
    BuildParams params;
    DistanceComputer dc;
    std::size_t m;            // links per node on levels >= 1
    std::size_t m0;           // links per node on level 0
    std::size_t fixed_bytes;  // code size, 0 for sparse (variable)

    // Per-node arrays, all reserved for node_capacity nodes at once.
    std::size_t node_capacity = 0;
    std::size_t count = 0;
    std::vector<std::uint8_t> levels;
    std::vector<std::uint64_t> first_labels;
    std::vector<std::uint32_t> upper_first;  // first upper block (nodes with level > 0)
    std::vector<std::uint32_t> links0;
    std::vector<float> dists0;
    std::vector<std::uint8_t> flags0;         // per link: kept by the heuristic (see flag_block)
    std::vector<unsigned char> codes;         // fixed: node_capacity * fixed_bytes
    std::vector<std::uint64_t> code_offsets;  // sparse only: where each node's code starts
    mutable VisitedMarks visited;

    std::vector<std::uint32_t> upper_links;
    std::vector<float> upper_dists;
    std::vector<std::uint8_t> upper_flags;
    std::size_t upper_blocks = 0;

    std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> all_labels;  // duplicates only
    std::size_t label_entry_bytes = 0;  // all_labels' entries and vectors, kept as they change
    ExactCodeIndex twins;

    int top_level = -1;
    std::uint32_t entry = 0;
    std::uint64_t rng;

    // Scratch reused by every call (a Graph is not thread-safe, searches included).
    mutable std::vector<Neighbor> candidates;  // min-heap
    mutable std::vector<Neighbor> results;     // max-heap
    mutable std::vector<const void *> batch_codes;
    mutable std::vector<std::uint32_t> batch_ids;
    mutable std::vector<float> batch_dists;
    std::vector<Neighbor> found;  // insertion: per-level results, concatenated
    std::vector<std::pair<std::size_t, std::size_t>> found_range;  // level l: [first, last)
    std::vector<Neighbor> selected;
    std::vector<std::uint8_t> selected_flags;  // parallel to selected: 1 = heuristic pick
    std::vector<Neighbor> merged;
    std::vector<std::uint32_t> merged_ids;     // add_member's working list
    std::vector<float> merged_dists;
    std::vector<std::uint8_t> merged_flags;
    mutable std::vector<std::uint32_t> kept_ids;  // members the heuristic keeps, so far

    Impl(const BuildParams &p, const DistanceComputer &d)
        : params(p), dc(d), m(static_cast<std::size_t>(std::max(p.m, 2))), m0(2 * m),
          fixed_bytes(d.representation == Representation::sparse
                          ? 0
                          : code_size(d.representation, d.dim, nullptr)),
          rng(p.seed)
    {
    }

    // ---- storage access ---------------------------------------------------------------------

    std::size_t stored_bytes(const void *code) const
    {
        return fixed_bytes != 0 ? fixed_bytes : code_size(Representation::sparse, dc.dim, code);
    }

    std::size_t level0_stride() const { return 1 + m0; }
    std::size_t upper_stride() const { return 1 + m; }
    std::size_t max_links(int level) const { return level == 0 ? m0 : m; }

    const void *code_of(std::uint32_t id) const
    {
        if (fixed_bytes != 0)
            return codes.data() + static_cast<std::size_t>(id) * fixed_bytes;
        return codes.data() + code_offsets[id];
    }
    std::size_t code_bytes_of(std::uint32_t id) const
    {
        if (fixed_bytes != 0)
            return fixed_bytes;
        return code_size(Representation::sparse, dc.dim, code_of(id));
    }

    std::uint32_t *link_block(std::uint32_t id, int level)
    {
        if (level == 0)
            return links0.data() + id * level0_stride();
        return upper_links.data() + (upper_first[id] + level - 1) * upper_stride();
    }
    const std::uint32_t *link_block(std::uint32_t id, int level) const
    {
        return const_cast<Impl *>(this)->link_block(id, level);
    }
    // Beside each link, the neighbour-selection heuristic's verdict on that member when the
    // list is read in order (closest first): 1 when no kept member before it is closer to it
    // than the list's owner is. Kept up to date on every change, so adding to a full list
    // decides which member to drop (the farthest unkept one, else the farthest: heuristic plus
    // top-up) with a handful of distances instead of re-running the heuristic over the list.
    std::uint8_t *flag_block(std::uint32_t id, int level)
    {
        if (level == 0)
            return flags0.data() + id * m0;
        return upper_flags.data() + (upper_first[id] + level - 1) * m;
    }

    float *dist_block(std::uint32_t id, int level)
    {
        if (level == 0)
            return dists0.data() + id * m0;
        return upper_dists.data() + (upper_first[id] + level - 1) * m;
    }

    // ---- memory -----------------------------------------------------------------------------

    // Bytes per node of the per-node arrays, per upper-level block, of scratch, of labels.
    std::size_t node_bytes() const;
    std::size_t block_bytes() const;
    std::size_t scratch_bytes() const;
    std::size_t label_bytes() const;
    // Everything held, by capacity (what Graph::memory_used reports).
    std::size_t memory_used() const;

    // Capacities after growth. Geometric growth where the budget allows it, exact growth
    // where it does not, and no growth at all (false) when even that would not fit.
    struct Growth {
        std::size_t nodes, blocks, code_arena, twin_slots;
    };

    static std::size_t wanted(std::size_t capacity, std::size_t needed, std::size_t minimum)
    {
        if (needed <= capacity)
            return capacity;
        return std::max({needed, capacity + capacity / 2, minimum});
    }

    bool plan_growth(std::size_t new_blocks, std::size_t new_code_bytes, std::size_t extra_bytes,
                     Growth *g) const;

    std::size_t upper_blocks_capacity() const { return upper_dists.capacity() / m; }

    // May throw std::bad_alloc; changes capacities only, never contents.
    void reserve(const Growth &g);

    // code_of + code_bytes_of as one callable, for the twin index.
    struct StoredCode {
        const Impl *graph;
        std::pair<const void *, std::size_t> operator()(std::uint32_t id) const
        {
            return {graph->code_of(id), graph->code_bytes_of(id)};
        }
    };
    StoredCode stored_code() const { return StoredCode{this}; }

    // Scratch an insertion at `level` needs; reserved before the search so the commit that
    // follows cannot allocate.
    std::size_t insert_scratch_growth(int level) const;
    void reserve_insert_scratch(int level);

    // ---- search -----------------------------------------------------------------------------

    float distance(const void *query, std::uint32_t id) const
    {
        return sane(dc.pair(dc, query, code_of(id)));
    }

    // Distances from `query` to the first `n` ids in batch_ids, into batch_dists.
    void batch_distances(const void *query, std::size_t n) const
    {
        dc.batch(dc, query, batch_codes.data(), n, batch_dists.data());
        for (std::size_t i = 0; i < n; ++i)
            batch_dists[i] = sane(batch_dists[i]);
    }

    void ensure_batch_room(std::size_t n) const
    {
        if (batch_ids.size() < n) {
            batch_ids.resize(n);
            batch_codes.resize(n);
            batch_dists.resize(n);
        }
    }

    // Greedy walk on one level: move to the closest neighbour while that gets closer.
    Neighbor greedy_closest(const void *query, Neighbor current, int level) const;

    // Ids among the first `n` links of `block` not seen yet in this search, marked now, into
    // batch_ids / batch_codes; returns how many. Tags are prefetched in a first pass so the
    // second pass does not wait on each one in turn.
    std::size_t gather_unvisited(const std::uint32_t *block, std::size_t n) const;

    // Keeps `next` among the ef best results if it belongs there; true when it was kept.
    bool offer_result(const Neighbor &next, std::size_t ef) const;

    // Best-first search of one level from `start`, keeping the `ef` closest; appends them to
    // `out` closest first.
    void search_level(const void *query, Neighbor start, std::size_t ef, int level,
                      std::vector<Neighbor> *out) const;

    // Closest node on `target_level` found by greedy descent from the entry point.
    Neighbor descend(const void *query, int target_level) const;

    // ---- neighbour selection ----------------------------------------------------------------

    // Malkov & Yashunin's heuristic (Algorithm 4, without extending or keeping pruned
    // candidates, as hnswlib and FAISS do): walk the candidates closest first and keep one only
    // if it is closer to the base than to every neighbour kept so far. This keeps links
    // spread over directions instead of piling into one cluster. `sorted` is closest first.
    void select_neighbors(const Neighbor *sorted, std::size_t n, std::size_t limit);

    // True when `candidate` is closer to the base than to every node in `selected`. Distances
    // go four at a time through the batch kernel with an early exit between groups: most
    // rejections come from the first (closest) kept neighbours.
    bool diverse(const Neighbor &candidate) const;

    // ---- insertion --------------------------------------------------------------------------

    // Labels of a node that already holds the code being added: room left under
    // params.max_labels_per_node, and adding one (budget-checked; ok or over_budget).
    bool has_label_room(std::uint32_t id) const;
    Status add_duplicate_label(std::uint32_t id, std::uint64_t label);

    // Appends the node (capacity was reserved, so nothing here allocates). `full_twin` is a node
    // with the same code and no room for more labels, or ExactCodeIndex::empty.
    std::uint32_t append_node(const void *code, std::size_t bytes, std::uint64_t label, int level,
                              std::uint32_t full_twin);

    // Writes `selected` (with selected_flags) as id's list on `level`.
    void write_selected(std::uint32_t id, int level);

    // True when any of ids[0..n) is closer to `code` than `limit` (groups of four through the
    // batch kernel, stopping at the first).
    bool closer_to_any(const void *code, float limit, const std::uint32_t *ids, std::size_t n) const;
    // The heuristic's verdicts for positions from `from` on of a list read in order.
    void recompute_verdicts(const std::uint32_t *ids, const float *dists, std::uint8_t *flags,
                            std::size_t n, std::size_t from) const;
    void recompute_flags(std::uint32_t node, int level, std::size_t from);
    // Adds `added` to node's list on `level`, closest first, with its verdict; a full list drops
    // one member (heuristic + top-up), which may be `added` itself. `may_drop` false: the caller
    // made room. True when `added` is in the list afterwards.
    bool add_member(std::uint32_t node, int level, Neighbor added, bool may_drop);

    // Adds the back-link node -> `added` on `level`. A full list is re-selected with the
    // heuristic over its old members plus `added`, using the stored distances. True when
    // `added` is in the list afterwards.
    bool link_back(std::uint32_t node, Neighbor added, int level);

    // True when node's list on `level` holds id.
    bool holds(std::uint32_t node, int level, std::uint32_t id) const;
    // Puts `added` (a new node, linked from nowhere yet, with a free slot in its level-0 list)
    // into owner's level-0 list; the member it replaces in a full list stays reachable
    // through `added`.
    void force_link(std::uint32_t owner, Neighbor added);

    // Links a new node on `level` to the best of what the search found, then links back. On
    // level 0 the new node keeps up to 2m - 1 (as FAISS and pgvector, 2m; hnswlib keeps m),
    // one slot staying free for force_link, which gives it an in-link when no neighbour did.
    void connect(std::uint32_t id, int level, const Neighbor *found_here, std::size_t n);

    // Graph::add and Graph::search without the exception guard; `bytes` is the stored size.
    Status add_first(const void *code, std::size_t bytes, std::uint64_t label, std::uint32_t *id);
    Status add(const void *code, std::size_t bytes, std::uint64_t label, std::uint32_t *id);
    std::vector<Neighbor> search(const void *query, std::size_t k, std::size_t ef) const;
};

}  // namespace quiver::core::hnsw
