// The in-memory HNSW graph used while an index is built (and by unit tests and benchmarks):
// hnswlib's flat layout (level 0 in one block with a fixed stride, upper levels apart), the
// neighbour-selection heuristic, epoch-tagged visited marks. Pure C++: it never calls
// PostgreSQL, never throws across its API (allocation failures become Status::over_budget),
// and stays within the memory budget it is given.
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/distance.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace quiver::core::hnsw {

struct BuildParams {
    int m = 16;                   // max neighbours per node on levels >= 1; 2*m on level 0
    int ef_construction = 64;     // candidate list size while inserting
    std::uint64_t seed = 0x5eed;  // level generator seed: same input order + seed = same graph
    std::size_t memory_budget = std::size_t(1) << 30;  // bytes the graph may use, all included
    // Labels one node may carry (0: no limit). An identical code arriving when its node is
    // full becomes a new node (Status::ok), and later twins join that newest node.
    std::size_t max_labels_per_node = 0;
};

enum class Status { ok, duplicate, over_budget };

struct Neighbor {
    float distance;
    std::uint32_t id;
};

// One Graph object is not thread-safe, searches included: they share scratch buffers and the
// visited marks. Several processes may build one graph at once, each through its own Graph
// attached to one shared region (see the second constructor).
class Graph {
public:
    // A graph in this process's own memory, which grows as needed within params.memory_budget.
    Graph(const BuildParams &params, const DistanceComputer &distance) noexcept;

    // Shared graphs, for parallel builds: format_shared() prepares a region of `bytes` (at
    // least shared_minimum()) once; then every process attaches its own Graph to it (the region
    // may be mapped at a different address in each) and calls add() concurrently with the
    // others. The region never grows: add() reports over_budget when it is full. `salt` makes
    // the processes' level draws differ. A Graph that cannot attach (wrong region, wrong
    // computer) behaves as a graph with no room. Only plain atomics and spin locks in the region
    // are used to coordinate, so it must not be touched by anything else meanwhile.
    static bool format_shared(void *region, std::size_t bytes, const BuildParams &params,
                              const DistanceComputer &distance) noexcept;
    static std::size_t shared_minimum(const BuildParams &params, const DistanceComputer &distance) noexcept;
    Graph(void *shared_region, const DistanceComputer &distance, std::uint64_t salt) noexcept;
    bool is_shared() const noexcept;
    ~Graph();
    Graph(const Graph &) = delete;
    Graph &operator=(const Graph &) = delete;

    // Inserts a copy of `code` (code_bytes long) carrying `label` (the glue packs a heap TID).
    // code_bytes must equal code_size(representation, dim, code); that is what is copied.
    //  ok:          a new node, its id in *id.
    //  duplicate:   an identical code (same bytes) is already a node: `label` was added to that
    //               node's labels and its id is in *id; the graph did not change otherwise.
    //               Found by an exact hash index of the codes, whatever the metric; codes that
    //               are equal as numbers but not as bytes (-0.0 and 0.0) are not duplicates.
    //  over_budget: nothing changed; the graph would exceed params.memory_budget.
    Status add(const void *code, std::size_t code_bytes, std::uint64_t label, std::uint32_t *id) noexcept;

    // Approximate k nearest nodes to `query` (a code of the same representation), closest first.
    // ef is raised to k. Empty on an empty graph, k == 0, or when scratch memory ran out.
    // Scratch buffers are reused and counted in memory_used(); they are not budget-checked here.
    std::vector<Neighbor> search(const void *query, std::size_t k, std::size_t ef) const noexcept;

    std::size_t size() const noexcept;         // number of nodes
    std::size_t memory_used() const noexcept;  // bytes, as counted against the budget
    int max_level() const noexcept;            // -1 when empty
    std::uint32_t entry_point() const noexcept;  // valid when size() > 0
    int level(std::uint32_t id) const noexcept;
    const void *code(std::uint32_t id) const noexcept;
    std::size_t code_bytes(std::uint32_t id) const noexcept;
    // Neighbour ids of `id` on `level` (level <= level(id)), closest first.
    std::pair<const std::uint32_t *, std::size_t> neighbors(std::uint32_t id, int level) const noexcept;
    // Labels of `id` in insertion order (more than one only for duplicates).
    std::pair<const std::uint64_t *, std::size_t> labels(std::uint32_t id) const noexcept;

    const BuildParams &params() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Level for a new node: floor(-ln(U) * mL), mL = 1/ln(m), capped as pgvector caps it.
// U comes from splitmix64 on *rng_state (53 bits, in (0, 1]).
int random_level(std::uint64_t *rng_state, int m) noexcept;

// The highest level random_level gives for `m`: pgvector's cap, so that a node's neighbour
// tuple ((level + 2) * m heap TIDs) fits in one 8 KiB page; at most 255.
int max_level_for(int m) noexcept;

}  // namespace quiver::core::hnsw
