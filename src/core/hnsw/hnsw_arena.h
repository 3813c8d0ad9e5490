// Private to the core: the storage of the in-memory HNSW graph, one contiguous region ("arena")
// addressed by offsets only, so that it can live in a process's own memory (and grow by being
// copied into a larger region) or in shared memory mapped at different addresses by several
// processes building one graph at once (parallel index builds).
//
// Layout:
//   [ArenaHeader][node record 0][node record 1]...  ->  free  <-  [variable data]
//   Node records grow from the front (a node's id is its record's index); variable-size data
//   (upper-level link blocks, sparse codes, label arrays of nodes with duplicates, the table of
//   exact codes) grows from the end and is addressed by its distance from the end, which stays
//   valid when a private arena is copied into a larger one (front and back are copied to the
//   front and the back of the new region).
//
// Node record (record_bytes, 8-aligned):
//   0   SpinLock    guards the node's link lists (shared arenas; private ones never contend)
//   4   uint8       level; 3 bytes unused
//   8   uint64      first label
//   16  uint64      label array (from the end; 0: the first label is the only one):
//                   uint32 count, uint32 capacity, uint64 labels[capacity]
//   24  uint64      upper-level blocks (from the end; 0 on level 0): one per level 1..L
//   32  uint64      code (from the end), sparse codes only; fixed-size codes are inline
//   40  level-0 list: uint32 count, uint32 ids[m0], float dists[m0], uint8 flags[m0], padded
//       then the fixed-size code, padded
// A list (level 0 here, levels >= 1 in the upper blocks with m slots) keeps members closest
// first with their distances to the owner and the neighbour heuristic's verdict on each
// (hnsw_graph_impl.h, flag_block).
//
// Concurrency (shared arenas): the allocation lock guards the front/back bookkeeping, the entry
// lock the entry point, the twin lock the exact-code table and the label arrays, each node's
// lock its lists. No thread or process ever holds two of these at once. A node's code, level and
// first label are written before its id appears in any list and never change after.
#pragma once
#include "quiver/core/pure.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quiver::core::hnsw {

// A test-and-test-and-set lock of one 32-bit word, usable in memory shared by processes (the
// atomic is lock-free, so it holds no process-local state).
class SpinLock {
public:
    void init() noexcept { word_.store(0, std::memory_order_relaxed); }
    void lock() noexcept
    {
        for (;;) {
            if (word_.exchange(1, std::memory_order_acquire) == 0)
                return;
            for (unsigned spins = 0; word_.load(std::memory_order_relaxed) != 0; ++spins)
                pause(spins);
        }
    }
    void unlock() noexcept { word_.store(0, std::memory_order_release); }

private:
    static void pause(unsigned spins) noexcept
    {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (spins > 1000)
            sched_yield_();
    }
    static void sched_yield_() noexcept;
    std::atomic<std::uint32_t> word_;
};
static_assert(sizeof(SpinLock) == 4, "a node's lock is one word");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "locks live in shared memory");

// Holds a lock for a scope; with `active` false (a private arena) it does nothing.
class Guard {
public:
    Guard(SpinLock &lock, bool active) noexcept : lock_(active ? &lock : nullptr)
    {
        if (lock_ != nullptr)
            lock_->lock();
    }
    ~Guard()
    {
        if (lock_ != nullptr)
            lock_->unlock();
    }
    Guard(const Guard &) = delete;
    Guard &operator=(const Guard &) = delete;

private:
    SpinLock *lock_;
};

inline constexpr std::uint64_t arena_magic = 0x5156484e5357ull;  // "QVHNSW"
inline constexpr std::uint32_t no_twin = 0xffffffffu;

struct ArenaHeader {
    std::uint64_t magic;
    std::uint64_t bytes;         // size of the region
    // Fixed when formatted.
    std::uint32_t m, m0;
    std::uint32_t fixed_bytes;   // code size, 0 for sparse
    std::uint32_t record_bytes;
    std::uint32_t list0_bytes, block_bytes;
    std::uint32_t representation, metric, dim;
    std::int32_t ef_construction;
    std::uint64_t seed;
    std::uint64_t max_labels_per_node;
    // Allocation (alloc_lock).
    SpinLock alloc_lock;
    std::atomic<std::uint32_t> count;  // node records in use: ids 0 .. count-1
    std::uint64_t back_used;           // bytes used at the end
    // Entry point (entry_lock).
    SpinLock entry_lock;
    std::int32_t top_level;            // -1 while the graph is empty
    std::uint32_t entry;
    // Exact codes and labels (twin_lock).
    SpinLock twin_lock;
    std::uint64_t twin_table;          // from the end: uint32 slots[twin_slots]
    std::uint64_t twin_slots;          // a power of two
    std::uint64_t twin_entries;
};

inline constexpr std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t(7); }

// Offsets inside a node record.
inline constexpr std::size_t rec_lock = 0;
inline constexpr std::size_t rec_level = 4;
inline constexpr std::size_t rec_first_label = 8;
inline constexpr std::size_t rec_labels = 16;
inline constexpr std::size_t rec_upper = 24;
inline constexpr std::size_t rec_code = 32;
inline constexpr std::size_t rec_list0 = 40;

// Bytes of one list of `slots` links: count, ids, distances, verdicts.
inline constexpr std::size_t list_bytes(std::size_t slots) { return align8(4 + 9 * slots); }

// A view of an arena at `base` (which may move when a private arena grows).
struct Arena {
    unsigned char *base = nullptr;

    ArenaHeader *h() const { return reinterpret_cast<ArenaHeader *>(base); }
    std::size_t bytes() const { return h()->bytes; }

    unsigned char *record(std::uint32_t id) const
    {
        return base + sizeof(ArenaHeader) + static_cast<std::size_t>(id) * h()->record_bytes;
    }
    unsigned char *back(std::uint64_t from_end) const { return base + h()->bytes - from_end; }
    template <class T> T &field(std::uint32_t id, std::size_t offset) const
    {
        return *reinterpret_cast<T *>(record(id) + offset);
    }

    SpinLock &lock(std::uint32_t id) const { return field<SpinLock>(id, rec_lock); }
    std::uint8_t level(std::uint32_t id) const { return field<std::uint8_t>(id, rec_level); }

    // The list of `id` on `level`: [count][ids...]; distances and verdicts follow the ids.
    std::uint32_t *list(std::uint32_t id, int level) const
    {
        if (level == 0)
            return reinterpret_cast<std::uint32_t *>(record(id) + rec_list0);
        const std::uint64_t upper = field<std::uint64_t>(id, rec_upper);
        return reinterpret_cast<std::uint32_t *>(back(upper) +
                                                 static_cast<std::size_t>(level - 1) * h()->block_bytes);
    }
    std::size_t slots(int level) const { return level == 0 ? h()->m0 : h()->m; }
    float *dists(std::uint32_t id, int level) const
    {
        return reinterpret_cast<float *>(list(id, level) + 1 + slots(level));
    }
    std::uint8_t *flags(std::uint32_t id, int level) const
    {
        return reinterpret_cast<std::uint8_t *>(dists(id, level) + slots(level));
    }

    const void *code(std::uint32_t id) const
    {
        if (h()->fixed_bytes != 0)
            return record(id) + rec_list0 + h()->list0_bytes;
        return back(field<std::uint64_t>(id, rec_code));
    }

    // Bytes in use at the front (header and records) and in all.
    std::size_t front_used() const
    {
        return sizeof(ArenaHeader) +
               static_cast<std::size_t>(h()->count.load(std::memory_order_relaxed)) * h()->record_bytes;
    }

    // Carves `bytes` (a multiple of 8) from the end; false when front and back would meet.
    // Caller holds alloc_lock (or the twin lock for the twin table and labels, which also takes
    // alloc_lock inside: see Graph::Impl).
    bool take_back(std::size_t bytes, std::uint64_t *from_end) const
    {
        if (front_used() + h()->back_used + bytes > h()->bytes)
            return false;
        h()->back_used += bytes;
        *from_end = h()->back_used;
        std::memset(back(*from_end), 0, bytes);
        return true;
    }

    std::uint32_t *twin_slots() const { return reinterpret_cast<std::uint32_t *>(back(h()->twin_table)); }
};

// Bytes a region needs for its header, the first exact-code table and one node (the smallest
// region format_arena accepts).
std::size_t arena_minimum(std::size_t record_bytes);

}  // namespace quiver::core::hnsw
