// hnsw index builds. Two phases, as pgvector's:
//  1. In memory: table_index_build_scan feeds every row to the core graph
//     (quiver::core::hnsw::Graph) with maintenance_work_mem as its budget. When the whole table
//     fits, the graph is written to pages once at the end.
//  2. On disk: when the graph reports over_budget, what is built so far is written to pages,
//     a NOTICE says so, and the remaining rows are inserted one by one with the on-disk insert
//     path (the same as INSERT, without WAL).
// Pages are written through the buffer manager unlogged, then WAL-logged in one pass
// (log_newpage_range) when the relation needs WAL. The graph is a C++ object owned by the
// build's memory context (a reset callback deletes it), so an error anywhere frees it.
#include "quiver/pg/hnsw.h"

extern "C" {
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "quiver/core/hnsw_graph.h"

#include <cstring>
#include <new>

namespace quiver::pg {
namespace {

using quiver::core::hnsw::Graph;

struct HnswBuildState {
    Relation heap;
    Relation index;
    IndexInfo *index_info;
    ForkNumber fork;
    const HnswOpclassInfo *opclass;
    uint32 dimensions;
    int m;
    int ef_construction;
    double reltuples;
    double indtuples;
    quiver::core::DistanceComputer dc;
    Graph *graph;  // deleted by graph_cb when build_ctx goes away
    bool flushed;
    MemoryContext build_ctx;
    MemoryContext tmp_ctx;
    MemoryContextCallback graph_cb;
};

void delete_graph(void *arg)
{
    auto *bs = static_cast<HnswBuildState *>(arg);
    delete bs->graph;
    bs->graph = nullptr;
}

Graph *new_graph(const quiver::core::hnsw::BuildParams &params,
                 const quiver::core::DistanceComputer &dc)
{
    return run_guarded([&] { return new Graph(params, dc); });
}

inline uint64 tid_label(ItemPointer tid)
{
    return (static_cast<uint64>(ItemPointerGetBlockNumber(tid)) << 16) |
           ItemPointerGetOffsetNumber(tid);
}

inline void label_tid(uint64 label, ItemPointer tid)
{
    ItemPointerSet(tid, static_cast<BlockNumber>(label >> 16),
                   static_cast<OffsetNumber>(label & 0xFFFF));
}

void check_build_settings(HnswBuildState *bs)
{
    Form_pg_attribute attr = TupleDescAttr(bs->index->rd_att, 0);
    if (attr->atttypid == VARBITOID)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("type not supported for hnsw index")));
    if (attr->atttypmod < 0)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("column does not have dimensions")));
    if (attr->atttypmod > bs->opclass->max_dimensions)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("column cannot have more than %d dimensions for hnsw index",
                               bs->opclass->max_dimensions)));
    if (bs->ef_construction < 2 * bs->m)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("ef_construction must be greater than or equal to 2 * m")));
    bs->dimensions = static_cast<uint32>(attr->atttypmod);
}

void init_build_state(HnswBuildState *bs, Relation heap, Relation index, IndexInfo *index_info,
                      ForkNumber fork)
{
    std::memset(bs, 0, sizeof *bs);
    bs->heap = heap;
    bs->index = index;
    bs->index_info = index_info;
    bs->fork = fork;
    bs->opclass = hnsw_opclass_info(index);
    bs->m = hnsw_option_m(index);
    bs->ef_construction = hnsw_option_ef_construction(index);
    check_build_settings(bs);
    if (!quiver::core::make_distance_computer(bs->opclass->representation, bs->opclass->metric,
                                              bs->dimensions, &bs->dc))
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("no distance computer for this hnsw operator class")));
    bs->build_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build", ALLOCSET_DEFAULT_SIZES);
    bs->tmp_ctx = AllocSetContextCreate(bs->build_ctx, "hnsw build tuple", ALLOCSET_DEFAULT_SIZES);
    bs->graph_cb.func = delete_graph;
    bs->graph_cb.arg = bs;
    MemoryContextRegisterResetCallback(bs->build_ctx, &bs->graph_cb);
}

void write_metapage(HnswBuildState *bs)
{
    Buffer buf = hnsw_new_buffer(bs->index, bs->fork);
    if (BufferGetBlockNumber(buf) != HNSW_METAPAGE_BLKNO)
        elog(ERROR, "hnsw metapage is not block 0 of \"%s\"", RelationGetRelationName(bs->index));
    hnsw_fill_metapage(BufferGetPage(buf), bs->dimensions, bs->m, bs->ef_construction, bs->opclass);
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
}

// Where each node's element and neighbour tuples go when the nodes are laid out in `order`.
struct NodeLocation {
    BlockNumber eblk;
    BlockNumber nblk;
    OffsetNumber eoff;
    OffsetNumber noff;
};

// Level-0 breadth-first order from the entry point: neighbours land on nearby pages, so a
// walk touches fewer pages. Nodes not reached come last, in insertion order.
uint32 *walk_order(const Graph *g)
{
    const uint32 n = static_cast<uint32>(g->size());
    auto *order = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * n, MCXT_ALLOC_HUGE));
    auto *seen = static_cast<bool *>(palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
    uint32 head = 0, tail = 0;
    order[tail++] = g->entry_point();
    seen[g->entry_point()] = true;
    while (head < tail) {
        uint32 id = order[head++];
        auto [links, count] = g->neighbors(id, 0);
        for (size_t i = 0; i < count; ++i) {
            if (!seen[links[i]]) {
                seen[links[i]] = true;
                order[tail++] = links[i];
            }
        }
    }
    for (uint32 id = 0; id < n; ++id)
        if (!seen[id])
            order[tail++] = id;
    pfree(seen);
    return order;
}

constexpr uint32 kNoLink = 0xFFFFFFFFu;

// Level-0 links of `id` as they are written: the graph's list plus extra[id], appended when
// there is room, else in place of the last (farthest) one.
int level0_links(const Graph *g, uint32 id, const uint32 *extra, int m0, uint32 *out)
{
    auto [links, count] = g->neighbors(id, 0);
    int n = static_cast<int>(Min(count, static_cast<size_t>(m0)));
    for (int i = 0; i < n; ++i)
        out[i] = links[i];
    if (extra[id] != kNoLink) {
        if (n < m0)
            out[n++] = extra[id];
        else
            out[n - 1] = extra[id];
    }
    return n;
}

// Marks everything reachable on level 0 from `start` (breadth first).
void mark_reachable(const Graph *g, uint32 start, const uint32 *extra, int m0, bool *reached,
                    uint32 *queue, uint32 *links)
{
    if (reached[start])
        return;
    uint32 head = 0, tail = 0;
    reached[start] = true;
    queue[tail++] = start;
    while (head < tail) {
        uint32 id = queue[head++];
        int n = level0_links(g, id, extra, m0, links);
        for (int i = 0; i < n; ++i)
            if (!reached[links[i]]) {
                reached[links[i]] = true;
                queue[tail++] = links[i];
            }
    }
}

// The graph's pruning can leave a node without any in-link on level 0, which no scan could
// ever reach. Each such node gets one from a reached node of its own list (one with room
// preferred, so no other link is lost), recorded in extra[]; repeated until all are reached.
uint32 *fix_reachability(const Graph *g, int m0)
{
    const uint32 n = static_cast<uint32>(g->size());
    auto *extra = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * n, MCXT_ALLOC_HUGE));
    for (uint32 i = 0; i < n; ++i)
        extra[i] = kNoLink;
    auto *reached = static_cast<bool *>(palloc_extended(n, MCXT_ALLOC_HUGE));
    auto *queue = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * n, MCXT_ALLOC_HUGE));
    auto *links = static_cast<uint32 *>(palloc(sizeof(uint32) * m0));
    for (int round = 0; round < 8; ++round) {
        std::memset(reached, 0, n);
        mark_reachable(g, g->entry_point(), extra, m0, reached, queue, links);
        bool all = true;
        for (uint32 x = 0; x < n; ++x) {
            if (reached[x])
                continue;
            all = false;
            auto [xl, xc] = g->neighbors(x, 0);
            uint32 pick = kNoLink;
            for (int pass = 0; pass < 2 && pick == kNoLink; ++pass)
                for (size_t i = 0; i < xc && pick == kNoLink; ++i) {
                    uint32 y = xl[i];
                    if (!reached[y] || extra[y] != kNoLink)
                        continue;
                    if (pass == 1 || g->neighbors(y, 0).second < static_cast<size_t>(m0))
                        pick = y;
                }
            for (uint32 y = 0; y < n && pick == kNoLink; ++y)
                if (reached[y] && extra[y] == kNoLink && g->neighbors(y, 0).second < static_cast<size_t>(m0))
                    pick = y;
            if (pick == kNoLink)
                continue;
            extra[pick] = x;
            mark_reachable(g, x, extra, m0, reached, queue, links);
        }
        if (all)
            break;
        CHECK_FOR_INTERRUPTS();
    }
    pfree(reached);
    pfree(queue);
    pfree(links);
    return extra;
}

// Writes the in-memory graph to element pages after the metapage, then the entry point.
void flush_graph(HnswBuildState *bs)
{
    const Graph *g = bs->graph;
    const int m = bs->m;
    const uint32 n = static_cast<uint32>(g->size());
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
    write_metapage(bs);
    if (n == 0)
        return;

    uint32 *extra = fix_reachability(g, 2 * m);
    auto *links0 = static_cast<uint32 *>(palloc(sizeof(uint32) * 2 * m));
    uint32 *order = walk_order(g);
    auto *loc = static_cast<NodeLocation *>(
        palloc_extended(sizeof(NodeLocation) * n, MCXT_ALLOC_HUGE));

    // Pass 1: plan the layout (same rules as inserts: together when both fit on one page).
    const Size page_room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData));
    BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO;
    Size free = page_room;
    OffsetNumber next_off = FirstOffsetNumber;
    auto need_page = [&](Size bytes) {
        if (free < bytes) {
            ++blk;
            free = page_room;
            next_off = FirstOffsetNumber;
        }
    };
    for (uint32 i = 0; i < n; ++i) {
        uint32 id = order[i];
        Size esize = hnsw_element_tuple_size(0, g->code_bytes(id)) + sizeof(ItemIdData);
        Size nsize = hnsw_neighbor_tuple_size(g->level(id), m) + sizeof(ItemIdData);
        if (esize + nsize <= page_room)
            need_page(esize + nsize);
        else
            need_page(esize);
        loc[id].eblk = blk;
        loc[id].eoff = next_off++;
        free -= esize;
        need_page(nsize);
        loc[id].nblk = blk;
        loc[id].noff = next_off++;
        free -= nsize;
    }
    const BlockNumber last_block = blk;

    // Pass 2: write the pages in that order.
    Size max_etup = hnsw_element_tuple_size(0, 0) + BLCKSZ;
    auto etup = static_cast<HnswElementTuple>(palloc(max_etup));
    auto ntup = static_cast<HnswNeighborTuple>(palloc(BLCKSZ));
    Buffer buf = InvalidBuffer;
    Page page = nullptr;
    auto page_for = [&](BlockNumber want) {
        if (BufferIsValid(buf) && BufferGetBlockNumber(buf) == want)
            return;
        if (BufferIsValid(buf)) {
            MarkBufferDirty(buf);
            UnlockReleaseBuffer(buf);
            CHECK_FOR_INTERRUPTS();
        }
        buf = hnsw_new_buffer(bs->index, bs->fork);
        if (BufferGetBlockNumber(buf) != want)
            elog(ERROR, "unexpected block %u while writing hnsw index \"%s\" (wanted %u)",
                 BufferGetBlockNumber(buf), RelationGetRelationName(bs->index), want);
        page = BufferGetPage(buf);
        hnsw_init_page(page, HNSW_PAGE_ELEMENT);
    };
    for (uint32 i = 0; i < n; ++i) {
        uint32 id = order[i];
        const int level = g->level(id);
        const Size code_len = g->code_bytes(id);
        const Size esize = hnsw_element_tuple_size(0, code_len);
        std::memset(etup, 0, esize);
        etup->type = HNSW_ELEMENT_TUPLE;
        etup->level = static_cast<uint8>(level);
        auto [labels, nlabels] = g->labels(id);
        int ntids = static_cast<int>(Min(nlabels, static_cast<size_t>(HNSW_HEAPTIDS)));
        etup->heaptid_count = static_cast<uint8>(ntids);
        for (int t = 0; t < HNSW_HEAPTIDS; ++t) {
            if (t < ntids)
                label_tid(labels[t], &etup->heaptids[t]);
            else
                ItemPointerSetInvalid(&etup->heaptids[t]);
        }
        ItemPointerSet(&etup->neighbortid, loc[id].nblk, loc[id].noff);
        etup->code_len = static_cast<uint16>(code_len);
        std::memcpy(hnsw_element_code(etup), g->code(id), code_len);

        const int slots = hnsw_neighbor_slots(level, m);
        const Size nsize = hnsw_neighbor_tuple_size(level, m);
        std::memset(ntup, 0, nsize);
        ntup->type = HNSW_NEIGHBOR_TUPLE;
        ntup->count = static_cast<uint16>(slots);
        for (int t = 0; t < slots; ++t)
            ItemPointerSetInvalid(&ntup->tids[t]);
        for (int l = 0; l <= level; ++l) {
            ItemPointerData *run = ntup->tids + hnsw_level_first_slot(l, m);
            if (l == 0) {
                int count = level0_links(g, id, extra, 2 * m, links0);
                for (int k = 0; k < count; ++k)
                    ItemPointerSet(&run[k], loc[links0[k]].eblk, loc[links0[k]].eoff);
                continue;
            }
            auto [links, count] = g->neighbors(id, l);
            size_t limit = Min(count, static_cast<size_t>(hnsw_level_slot_count(l, m)));
            for (size_t k = 0; k < limit; ++k)
                ItemPointerSet(&run[k], loc[links[k]].eblk, loc[links[k]].eoff);
        }

        page_for(loc[id].eblk);
        if (PageAddItem(page, reinterpret_cast<Item>(etup), esize, loc[id].eoff, false, false) !=
            loc[id].eoff)
            elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(bs->index));
        page_for(loc[id].nblk);
        if (PageAddItem(page, reinterpret_cast<Item>(ntup), nsize, loc[id].noff, false, false) !=
            loc[id].noff)
            elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(bs->index));
    }
    if (BufferIsValid(buf)) {
        MarkBufferDirty(buf);
        UnlockReleaseBuffer(buf);
    }

    // Entry point, insert hint, counts.
    Buffer mbuf = ReadBufferExtended(bs->index, bs->fork, HNSW_METAPAGE_BLKNO, RBM_NORMAL, nullptr);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    HnswMetaPage meta = HnswPageGetMeta(BufferGetPage(mbuf));
    uint32 ep = g->entry_point();
    ItemPointerSet(&meta->entry, loc[ep].eblk, loc[ep].eoff);
    meta->entry_level = static_cast<int16>(g->level(ep));
    meta->insert_page = last_block;
    meta->element_count = n;
    MarkBufferDirty(mbuf);
    UnlockReleaseBuffer(mbuf);

    // Rows beyond HNSW_HEAPTIDS identical vectors become more elements, inserted on disk.
    for (uint32 id = 0; id < n; ++id) {
        auto [labels, nlabels] = g->labels(id);
        for (size_t t = HNSW_HEAPTIDS; t < nlabels; ++t) {
            ItemPointerData tid;
            label_tid(labels[t], &tid);
            hnsw_insert_code(bs->index, g->code(id), g->code_bytes(id), &tid, true);
        }
    }

    pfree(etup);
    pfree(ntup);
    pfree(loc);
    pfree(order);
    pfree(extra);
    pfree(links0);
}

void switch_to_disk(HnswBuildState *bs)
{
    ereport(NOTICE,
            (errmsg("hnsw graph no longer fits into maintenance_work_mem after " INT64_FORMAT " tuples",
                    static_cast<int64>(bs->indtuples)),
             errdetail("Building will take significantly more time."),
             errhint("Increase maintenance_work_mem to speed up builds.")));
    flush_graph(bs);
    bs->flushed = true;
    delete bs->graph;
    bs->graph = nullptr;
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
}

// Adds one row to the in-memory graph; false when it no longer fits. The core promises not to
// throw; should it anyway, the exception ends here and becomes an error after the catch.
bool graph_add(HnswBuildState *bs, const void *code, Size code_len, ItemPointer tid)
{
    return run_guarded([&] {
        try {
            uint32 id;
            return bs->graph->add(code, code_len, tid_label(tid), &id) !=
                   quiver::core::hnsw::Status::over_budget;
        } catch (const std::bad_alloc &) {
            return false;  // out of memory is what over_budget means
        }
    });
}

void build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool, void *state)
{
    auto *bs = static_cast<HnswBuildState *>(state);
    if (isnull[0])
        return;
    MemoryContext old = MemoryContextSwitchTo(bs->tmp_ctx);

    Size code_len;
    uint32 dim;
    void *code = hnsw_value_code(bs->opclass, values[0], &code_len, &dim, false);
    if (code != nullptr) {
        hnsw_check_dimensions(bs->opclass, dim, bs->dimensions);
        if (!bs->flushed && !graph_add(bs, code, code_len, tid))
            switch_to_disk(bs);
        if (bs->flushed)
            hnsw_insert_code(index, code, code_len, tid, true);
        bs->indtuples += 1;
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(bs->indtuples));
    }

    MemoryContextSwitchTo(old);
    MemoryContextReset(bs->tmp_ctx);
}

void build_index(HnswBuildState *bs)
{
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
    if (bs->heap != nullptr && bs->heap->rd_rel->reltuples > 0)
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
                                     static_cast<int64>(bs->heap->rd_rel->reltuples));

    quiver::core::hnsw::BuildParams params;
    params.m = bs->m;
    params.ef_construction = bs->ef_construction;
    params.memory_budget = static_cast<size_t>(maintenance_work_mem) * 1024;
    bs->graph = new_graph(params, bs->dc);

    if (bs->heap != nullptr)
        bs->reltuples = table_index_build_scan(bs->heap, bs->index, bs->index_info, true, true,
                                               build_callback, bs, nullptr);
    if (!bs->flushed)
        flush_graph(bs);

    if (RelationNeedsWAL(bs->index) || bs->fork == INIT_FORKNUM)
        log_newpage_range(bs->index, bs->fork, 0,
                          RelationGetNumberOfBlocksInFork(bs->index, bs->fork), true);
}

}  // namespace

IndexBuildResult *hnswbuild(Relation heap, Relation index, IndexInfo *index_info)
{
    if (RelationGetNumberOfBlocks(index) != 0)
        elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
    auto *bs = static_cast<HnswBuildState *>(palloc(sizeof(HnswBuildState)));
    init_build_state(bs, heap, index, index_info, MAIN_FORKNUM);
    build_index(bs);
    auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
    result->heap_tuples = bs->reltuples;
    result->index_tuples = bs->indtuples;
    MemoryContextDelete(bs->build_ctx);
    pfree(bs);
    return result;
}

void hnswbuildempty(Relation index)
{
    auto *bs = static_cast<HnswBuildState *>(palloc(sizeof(HnswBuildState)));
    init_build_state(bs, nullptr, index, BuildIndexInfo(index), INIT_FORKNUM);
    build_index(bs);
    MemoryContextDelete(bs->build_ctx);
    pfree(bs);
}

}  // namespace quiver::pg
