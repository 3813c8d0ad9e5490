// The in-memory HNSW graph of index builds: its public API (hnsw_graph.h) over Graph::Impl, and
// the level generator. Pure C++: no PostgreSQL, no exception ever leaves the API
// (std::bad_alloc becomes Status::over_budget).
#include "hnsw_graph_impl.h"

#include <cmath>
#include <cstdlib>
#include <new>

namespace quiver::core::hnsw {
namespace {

// Vigna's splitmix64: tiny, seedable with any value, good enough for level draws.
std::uint64_t splitmix64(std::uint64_t *state)
{
    std::uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace

int max_level_for(int m) noexcept
{
    // pgvector's cap: a node's neighbour tuple ((level + 2) * m TIDs of 6 bytes) must fit in one
    // 8 KiB page beside the page header (24), the special space (8), the tuple header (4) and
    // the line pointer (4); and levels fit in one byte.
    const int usable = 8192 - 24 - 8 - 4 - 4;
    const int mm = std::max(m, 2);
    return std::max(0, std::min(usable / 6 / mm - 2, 255));
}

int random_level(std::uint64_t *rng_state, int m) noexcept
{
    // U in (0, 1]: 53 random bits plus one, so log(U) is finite.
    const double u = static_cast<double>((splitmix64(rng_state) >> 11) + 1) * 0x1p-53;
    const double ml = 1.0 / std::log(static_cast<double>(std::max(m, 2)));
    const double level = -std::log(u) * ml;
    const int cap = max_level_for(m);
    return level >= cap ? cap : static_cast<int>(level);
}

Graph::Impl::Impl(const BuildParams &p, const DistanceComputer &d)
    : params(p), dc(d), m(static_cast<std::size_t>(std::max(p.m, 2))), m0(2 * m),
      fixed_bytes(d.representation == Representation::sparse ? 0 : code_size(d.representation, d.dim, nullptr)),
      shared(false), owned(false), rng(p.seed)
{
}

Graph::Impl::~Impl()
{
    if (owned)
        std::free(arena.base);
}

Graph::Graph(const BuildParams &params, const DistanceComputer &distance) noexcept
    : impl_(new (std::nothrow) Impl(params, distance))
{
    if (!impl_)
        return;
    // A private arena, small at first; it grows within the budget as nodes arrive.
    try {
        const std::size_t want = std::min(impl_->arena_limit(), std::size_t(64) << 10);
        if (want < arena_minimum(impl_->record_bytes()) || !impl_->move_to(want & ~std::size_t(7)))
            impl_.reset();
    } catch (...) {
        impl_.reset();
    }
}

bool Graph::format_shared(void *region, std::size_t bytes, const BuildParams &params,
                          const DistanceComputer &distance) noexcept
{
    try {
        Impl probe(params, distance);
        return probe.format(static_cast<unsigned char *>(region), bytes & ~std::size_t(7));
    } catch (...) {
        return false;
    }
}

std::size_t Graph::shared_minimum(const BuildParams &params, const DistanceComputer &distance) noexcept
{
    try {
        Impl probe(params, distance);
        return arena_minimum(probe.record_bytes());
    } catch (...) {
        return 0;
    }
}

Graph::Graph(void *shared_region, const DistanceComputer &distance, std::uint64_t salt) noexcept
{
    auto *h = static_cast<const ArenaHeader *>(shared_region);
    if (h == nullptr || h->magic != arena_magic || h->dim != distance.dim ||
        h->representation != static_cast<std::uint32_t>(distance.representation) ||
        h->metric != static_cast<std::uint32_t>(distance.metric))
        return;
    BuildParams p;
    p.m = static_cast<int>(h->m);
    p.ef_construction = h->ef_construction;
    p.seed = h->seed ^ (salt * 0x9e3779b97f4a7c15ull);
    p.memory_budget = h->bytes;
    p.max_labels_per_node = h->max_labels_per_node;
    try {
        impl_.reset(new Impl(p, distance));
        impl_->arena.base = static_cast<unsigned char *>(shared_region);
        impl_->shared = true;
        // Ids can come from any process: marks for every node the region could hold.
        impl_->visited.resize(impl_->capacity_hint());
    } catch (...) {
        impl_.reset();
    }
}

Graph::~Graph() = default;

bool Graph::is_shared() const noexcept { return impl_ && impl_->shared; }

Status Graph::add(const void *code, std::size_t code_bytes, std::uint64_t label, std::uint32_t *id) noexcept
{
    if (!impl_)
        return Status::over_budget;
    // The representation decides how many bytes a code has (see the header's precondition).
    (void)code_bytes;
    try {
        const std::size_t bytes = impl_->fixed_bytes != 0
                                      ? impl_->fixed_bytes
                                      : code_size(Representation::sparse, impl_->dc.dim, code);
        return impl_->add(code, bytes, label, id);
    } catch (const std::bad_alloc &) {
        return Status::over_budget;
    }
}

std::vector<Neighbor> Graph::search(const void *query, std::size_t k, std::size_t ef) const noexcept
{
    if (!impl_)
        return {};
    try {
        return impl_->search(query, k, ef);
    } catch (const std::bad_alloc &) {
        return {};
    }
}

std::size_t Graph::size() const noexcept { return impl_ ? impl_->node_count() : 0; }
std::size_t Graph::memory_used() const noexcept { return impl_ ? impl_->memory_used() : 0; }
int Graph::max_level() const noexcept { return impl_ ? impl_->arena.h()->top_level : -1; }
std::uint32_t Graph::entry_point() const noexcept { return impl_ ? impl_->arena.h()->entry : 0; }
int Graph::level(std::uint32_t id) const noexcept { return impl_->level_of(id); }
const void *Graph::code(std::uint32_t id) const noexcept { return impl_->code_of(id); }
std::size_t Graph::code_bytes(std::uint32_t id) const noexcept { return impl_->code_bytes_of(id); }

std::pair<const std::uint32_t *, std::size_t> Graph::neighbors(std::uint32_t id, int level) const noexcept
{
    if (level < 0 || level > impl_->level_of(id))
        return {nullptr, 0};
    const std::uint32_t *block = impl_->link_block(id, level);
    return {block + 1, block[0]};
}

std::pair<const std::uint64_t *, std::size_t> Graph::labels(std::uint32_t id) const noexcept
{
    return impl_->labels_of(id);
}

const BuildParams &Graph::params() const noexcept
{
    static const BuildParams unallocated{};  // only if the constructor could not allocate
    return impl_ ? impl_->params : unallocated;
}

}  // namespace quiver::core::hnsw
