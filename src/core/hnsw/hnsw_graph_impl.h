// Private to the core: Graph::Impl, the in-memory HNSW graph over an arena (hnsw_arena.h), and
// the small inline helpers its translation units share (hnsw_graph.cpp: API; hnsw_memory.cpp:
// arena, budget, growth, exact codes and labels; hnsw_search.cpp: searches; hnsw_insert.cpp:
// insertion). One Impl per process: the arena may be its own (private, grows within the budget)
// or shared with other processes' Impls (fixed size; every add() of every process may run at
// once). Scratch buffers and visited marks belong to the Impl, never to the arena. Nothing here
// throws on its own except where a comment says std::bad_alloc may escape to Graph::add's catch.
#pragma once
#include "quiver/core/hnsw_graph.h"
#include "quiver/core/visited.h"
#include "hnsw_arena.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
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

struct Graph::Impl {
    BuildParams params;
    DistanceComputer dc;
    std::size_t m;            // links per node on levels >= 1
    std::size_t m0;           // links per node on level 0
    std::size_t fixed_bytes;  // code size, 0 for sparse (variable)

    Arena arena;
    bool shared;              // the arena is shared with other processes (locks are taken)
    bool owned;               // the arena was allocated here (freed by the destructor)
    std::uint64_t rng;        // level draws of this Impl's insertions
    mutable VisitedMarks visited;

    // Scratch reused by every call (an Impl is not thread-safe, searches included).
    mutable std::vector<Neighbor> candidates;  // min-heap
    mutable std::vector<Neighbor> results;     // max-heap
    mutable std::vector<const void *> batch_codes;
    mutable std::vector<std::uint32_t> batch_ids;
    mutable std::vector<float> batch_dists;
    mutable std::vector<std::uint32_t> list_copy;  // a list read under its node's lock
    std::vector<Neighbor> found;  // insertion: per-level results, concatenated
    std::vector<std::pair<std::size_t, std::size_t>> found_range;  // level l: [first, last)
    std::vector<Neighbor> selected;
    std::vector<std::uint8_t> selected_flags;  // parallel to selected: 1 = heuristic pick
    std::vector<std::uint32_t> merged_ids;     // add_member's working list
    std::vector<float> merged_dists;
    std::vector<std::uint8_t> merged_flags;
    mutable std::vector<std::uint32_t> kept_ids;  // members the heuristic keeps, so far
    std::vector<std::uint32_t> own_ids;        // connect's copy of the new node's list
    std::vector<float> own_dists;

    Impl(const BuildParams &p, const DistanceComputer &d);
    ~Impl();
    Impl(const Impl &) = delete;
    Impl &operator=(const Impl &) = delete;

    // ---- arena --------------------------------------------------------------------------------

    std::size_t max_links(int level) const { return level == 0 ? m0 : m; }
    std::size_t record_bytes() const;
    std::size_t block_bytes() const { return list_bytes(m); }

    // Writes a fresh header into region[0..bytes) (false when too small).
    bool format(unsigned char *region, std::size_t bytes) const;
    // A private arena of `bytes`, copying the current one into it when there is one; false
    // when it cannot be allocated.
    bool move_to(std::size_t bytes);
    // Makes room for `need` more bytes in a private arena (grows it within the budget; false
    // when it cannot); a shared arena never grows, its allocations check under the lock.
    bool grow_for(std::size_t need);
    // Most bytes a private arena may take, given the budget and what this Impl holds besides.
    std::size_t arena_limit() const;

    std::uint32_t node_count() const { return arena.h()->count.load(std::memory_order_acquire); }
    std::uint32_t capacity_hint() const;  // nodes the arena could hold at most (visited marks)

    std::uint32_t *link_block(std::uint32_t id, int level) const { return arena.list(id, level); }
    float *dist_block(std::uint32_t id, int level) const { return arena.dists(id, level); }
    // Beside each link, the neighbour-selection heuristic's verdict on that member when the
    // list is read in order (closest first): 1 when no kept member before it is closer to it
    // than the list's owner is. Kept up to date on every change, so adding to a full list
    // decides which member to drop (the farthest unkept one, else the farthest: heuristic plus
    // top-up) with a handful of distances instead of re-running the heuristic over the list.
    std::uint8_t *flag_block(std::uint32_t id, int level) const { return arena.flags(id, level); }
    const void *code_of(std::uint32_t id) const { return arena.code(id); }
    std::size_t code_bytes_of(std::uint32_t id) const
    {
        return fixed_bytes != 0 ? fixed_bytes : code_size(Representation::sparse, dc.dim, code_of(id));
    }
    int level_of(std::uint32_t id) const { return arena.level(id); }

    // Copies id's list on `level` into list_copy (under the node's lock in a shared arena);
    // returns its length.
    std::size_t read_list(std::uint32_t id, int level) const;

    // Entry point and top level, read together.
    void entry_snapshot(std::uint32_t *entry, int *top) const;

    // ---- memory -------------------------------------------------------------------------------

    std::size_t scratch_bytes() const;
    std::size_t memory_used() const;  // arena (private) + scratch + visited marks
    // Scratch an insertion at `level` needs, reserved before anything changes.
    bool reserve_insert_scratch(int level);

    // Allocates node `*id` with its record, upper blocks and (sparse) code; writes level, first
    // label and code; lists empty. False when it does not fit (nothing changed).
    bool allocate_node(const void *code, std::size_t bytes, std::uint64_t label, int level,
                       std::uint32_t *id);

    // ---- exact codes and labels (hnsw_memory.cpp) ---------------------------------------------

    // The node whose code equals `code` (the newest one with it), or no_twin. Twin lock held.
    std::uint32_t find_twin(const void *code, std::size_t bytes) const;
    // Room for one more entry in the exact-code table (grows it); false when it cannot grow.
    bool reserve_twin_slot();
    // Records node id as holding `code` (replacing an older twin's entry). Twin lock held.
    void register_twin(std::uint32_t id, const void *code, std::size_t bytes);
    std::size_t labels_held(std::uint32_t id) const;
    bool has_label_room(std::uint32_t id) const;
    // Adds a label to a node that holds the code; false when it does not fit.
    bool add_label(std::uint32_t id, std::uint64_t label);
    std::pair<const std::uint64_t *, std::size_t> labels_of(std::uint32_t id) const;

    // ---- search -------------------------------------------------------------------------------

    float distance(const void *query, std::uint32_t id) const
    {
        return sane(dc.pair(dc, query, code_of(id)));
    }

    // Distances from `query` to the first `n` codes in batch_codes, into batch_dists.
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

    // Ids among list_copy[0..n) not seen yet in this search, marked now, into batch_ids /
    // batch_codes; returns how many.
    std::size_t gather_unvisited(std::size_t n) const;

    // Keeps `next` among the ef best results if it belongs there; true when it was kept.
    bool offer_result(const Neighbor &next, std::size_t ef) const;

    // Best-first search of one level from `start`, keeping the `ef` closest; appends them to
    // `out` closest first.
    void search_level(const void *query, Neighbor start, std::size_t ef, int level,
                      std::vector<Neighbor> *out) const;

    // Closest node on `target_level` found by greedy descent from `entry` (at `top`).
    Neighbor descend(const void *query, std::uint32_t entry, int top, int target_level) const;

    // ---- neighbour selection ----------------------------------------------------------------

    // Malkov & Yashunin's heuristic (Algorithm 4, without extending candidates): walk the
    // candidates closest first and keep one only if it is closer to the base than to every
    // neighbour kept so far; then top up with the closest others (keepPrunedConnections, as
    // pgvector does). Fills selected / selected_flags. `sorted` is closest first.
    void select_neighbors(const Neighbor *sorted, std::size_t n, std::size_t limit);

    // True when `candidate` is closer to the base than to every node in `selected`.
    bool diverse(const Neighbor &candidate) const;

    // ---- insertion --------------------------------------------------------------------------

    // Writes `selected` (with selected_flags) as id's list on `level`.
    void write_selected(std::uint32_t id, int level);

    // True when any of ids[0..n) is closer to `code` than `limit` (groups of four through the
    // batch kernel, stopping at the first).
    bool closer_to_any(const void *code, float limit, const std::uint32_t *ids, std::size_t n) const;
    // The heuristic's verdicts for positions from `from` on of a list read in order.
    void recompute_verdicts(const std::uint32_t *ids, const float *dists, std::uint8_t *flags,
                            std::size_t n, std::size_t from) const;
    // Adds `added` to node's list on `level`, closest first, with its verdict; a full list drops
    // one member (heuristic + top-up), which may be `added` itself. `may_drop` false: the caller
    // made room. True when `added` is in the list afterwards. Node's lock held (shared arenas).
    bool add_member(std::uint32_t node, int level, Neighbor added, bool may_drop);

    // Adds the back-link node -> `added` on `level` (locks node). True when `added` is in
    // node's list afterwards.
    bool link_back(std::uint32_t node, Neighbor added, int level);

    // True when node's list on `level` holds id (caller holds node's lock).
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
    Status add(const void *code, std::size_t bytes, std::uint64_t label, std::uint32_t *id);
    std::vector<Neighbor> search(const void *query, std::size_t k, std::size_t ef) const;
};

}  // namespace quiver::core::hnsw
