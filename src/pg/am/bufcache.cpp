// Buffer hints for index reads: which shared buffer held each block of an index lately (hnsw
// graph walks, ivf list scans).
//
// A walk reads a few hundred pages per query, scattered over the whole index. Pinning a page
// through ReadBuffer looks its tag up in the shared buffer-mapping hash table (a partition lock
// and a hash probe); ReadRecentBuffer skips that when the caller knows which buffer held the
// block and only checks, under the buffer header lock, that it still does. Walks therefore
// remember, per backend and without keeping any pin, the buffer of every block they read.
//
// The hints of an index are kept per relation file and backend (a temporary relation's file
// number may equal a permanent relation's: different files, same buffer tag) in a flat array
// indexed by block number (4 bytes per 8 kB page), grown
// on demand, for the few indexes this backend walked last. An array cannot collide, unlike the
// fixed hash table of 32k slots used before, which (by a collision estimate) lost about a third
// of the hints once the index had as many pages as slots (Fashion-MNIST, 30k pages: 2,910 ->
// 3,273 QPS at ef_search 16 with the array). Hints are only hints: a stale one costs a
// ReadBuffer, or one wasted prefetch. Holding no pin between reads keeps PostgreSQL's
// per-backend pin bookkeeping on its fast path and never ties up the buffer pool.
#include "quiver/pg/am.h"

extern "C" {
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

namespace quiver::pg {

namespace {

constexpr int kHintedRelations = 4;
// 8 MB of hints for an index of 16 GB; blocks past this are read without hints.
constexpr uint32 kMaxHintedBlocks = 1u << 21;
constexpr uint32 kMinHintedBlocks = 1024;

struct RelationHints {
    RelFileNodeBackend key;  // a temporary relation's file number may equal a permanent one's
    Buffer *buffers;         // TopMemoryContext; InvalidBuffer = not seen
    uint32 size;
    uint64 last_used;
};

RelationHints relation_hints[kHintedRelations];
uint64 hint_clock = 0;

bool same_key(const RelFileNodeBackend &a, const RelFileNodeBackend &b)
{
    return a.node.relNode == b.node.relNode && a.node.dbNode == b.node.dbNode &&
           a.node.spcNode == b.node.spcNode && a.backend == b.backend;
}

// The slot of `key`, claimed (least recently used one) when it has none.
int claim_slot(const RelFileNodeBackend &key)
{
    int victim = 0;
    for (int i = 0; i < kHintedRelations; ++i) {
        if (same_key(relation_hints[i].key, key))  // an unused slot's relNode is 0
            return i;
        if (relation_hints[i].last_used < relation_hints[victim].last_used)
            victim = i;
    }
    RelationHints &r = relation_hints[victim];
    if (r.buffers != nullptr)
        pfree(r.buffers);
    r.buffers = nullptr;
    r.size = 0;
    r.key = key;
    return victim;
}

// The hints of the walk's index, or nullptr when its slot went to another index meanwhile
// (a query walking more indexes at once than there are slots).
RelationHints *hints_of(const AmBufferCache *cache)
{
    RelationHints &r = relation_hints[cache->slot];
    return same_key(r.key, cache->key) ? &r : nullptr;
}

// Makes room for blkno; false when it is past the cap.
bool ensure_room(RelationHints *r, BlockNumber blkno)
{
    if (blkno < r->size)
        return true;
    if (blkno >= kMaxHintedBlocks)
        return false;
    uint32 size = Max(Max(r->size * 2, kMinHintedBlocks), blkno + 1);
    size = Min(size, kMaxHintedBlocks);
    // InvalidBuffer is 0, so zeroed memory means "not seen".
    Buffer *grown = static_cast<Buffer *>(
        MemoryContextAllocZero(TopMemoryContext, sizeof(Buffer) * static_cast<Size>(size)));
    if (r->buffers != nullptr) {
        memcpy(grown, r->buffers, sizeof(Buffer) * static_cast<Size>(r->size));
        pfree(r->buffers);
    }
    r->buffers = grown;
    r->size = size;
    return true;
}

}  // namespace

void am_cache_init(AmBufferCache *cache, Relation index)
{
    cache->key.node = index->rd_node;
    cache->key.backend = index->rd_backend;
    cache->local = RelationUsesLocalBuffers(index);
    cache->slot = claim_slot(cache->key);
    relation_hints[cache->slot].last_used = ++hint_clock;
}

void am_cache_release(AmBufferCache *) {}

Buffer am_cache_peek(const AmBufferCache *cache, BlockNumber blkno)
{
    const RelationHints *r = hints_of(cache);
    return (r != nullptr && blkno < r->size) ? r->buffers[blkno] : InvalidBuffer;
}

Buffer am_cache_pin(AmBufferCache *cache, Relation index, BlockNumber blkno,
                    BufferAccessStrategy strategy)
{
    RelationHints *r = hints_of(cache);
    if (r != nullptr && blkno < r->size) {
        // ReadRecentBuffer compares the buffer's tag, which does not say whether the buffer is
        // a local or a shared one: the hint must come from this relation's pool.
        Buffer hint = r->buffers[blkno];
        if (hint != InvalidBuffer && BufferIsLocal(hint) == cache->local &&
            ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, hint))
            return hint;
    }
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
    if (r != nullptr && ensure_room(r, blkno))
        r->buffers[blkno] = buf;
    return buf;
}

}  // namespace quiver::pg
