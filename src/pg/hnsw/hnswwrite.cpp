// Writing the in-memory build graph (quiver::core::hnsw::Graph) to element pages: the layout
// (level-0 breadth-first order from the entry point, so neighbours share pages), the level-0
// reachability repair the graph may need, and duplicate groups. Pages go through the buffer
// manager without WAL; the build logs them all at its end.
//
// Duplicate groups. The graph holds one node per distinct code, with the heap TIDs of every
// row carrying it (so a table full of one vector builds a graph of one node, in no time and
// little memory). An element holds HNSW_HEAPTIDS heap TIDs; a node with more is written as a
// group: the node's own element (its first HNSW_HEAPTIDS TIDs) and "extra" elements on level 0
// for the rest, arranged as a tree: the first extra is linked from the node (appended to its
// list, or in place of its farthest member, which the first extra's list then takes), and extra
// r links to extras r*B+1 .. r*B+B (B = m), then to the node and the node's own neighbours, so
// a walk can leave the group anywhere. Every extra thus has an in-link from a reachable element
// and the tree is shallow (depth log_m of the group), unlike links chosen by a neighbour
// heuristic, for which all members of a group are equally close and none wins a place.
// With filter columns an element's heap TIDs must also share their payload: a node's rows are
// then ordered by payload and cut wherever the payload changes as well, so rows with one vector
// and different filter values become separate elements of the same kind of group.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/hnsw_build.h"

extern "C" {
#include "commands/progress.h"
#include "miscadmin.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "quiver/core/hnsw_graph.h"

#include <algorithm>
#include <cstring>

namespace quiver::pg {
namespace {

using quiver::core::hnsw::Graph;

constexpr uint32 kNone = 0xFFFFFFFFu;

// Where an element's tuples go.
struct Location {
    BlockNumber eblk;
    BlockNumber nblk;
    OffsetNumber eoff;
    OffsetNumber noff;
};

// Ids: graph nodes are 0 .. n-1, extra elements of duplicate groups n .. n+extras-1.
struct Layout {
    const Graph *g;
    int m;
    uint32 n;              // graph nodes
    uint32 extras;         // extra elements of duplicate groups
    uint32 *group_first;   // per node: id of its first extra, or kNone
    uint32 *group_size;    // per node: extras in its group (0 when none)
    uint32 *extra_owner;   // per extra: its node
    uint32 *reach_extra;   // per node: a level-0 link added for reachability, or kNone
    uint32 *displaced;     // per node: the member its first extra took the place of, or kNone
    Location *loc;         // per id
    // Filter columns: payloads by heap TID, and for nodes with several rows the order of their
    // labels (grouped by payload) and where each element's run of labels starts.
    const HnswPayloadStore *payloads;  // NULL without filter columns
    uint32 *split;         // per node: index into perm/bounds, or kNone (plain runs)
    uint32 **perm;         // per split node: label indices, grouped by payload
    uint32 **bounds;       // per split node: first label position of each element, then the end
};

// Label at position i of node id's rows (in element order).
inline uint64 label_at(const Layout &L, uint32 id, size_t i)
{
    const uint32 sp = L.split != nullptr ? L.split[id] : kNone;
    return L.g->labels(id).first[sp == kNone ? i : L.perm[sp][i]];
}

inline void label_tid(uint64 label, ItemPointer tid)
{
    ItemPointerSet(tid, static_cast<BlockNumber>(label >> 16),
                   static_cast<OffsetNumber>(label & 0xFFFF));
}

// Extras a node with `labels` heap TIDs needs beside its own element.
inline uint32 extras_for(size_t labels)
{
    return labels > HNSW_HEAPTIDS ? static_cast<uint32>((labels - 1) / HNSW_HEAPTIDS) : 0;
}

// Level-0 links of node `id` as the reachability pass sees them: the graph's list plus
// reach_extra[id], appended when there is room, else in place of the last (farthest) one. A
// duplicate group's first extra is left out: whatever it displaces stays reachable through it.
int graph_links0(const Layout &L, uint32 id, uint32 *out)
{
    const int m0 = 2 * L.m;
    auto [links, count] = L.g->neighbors(id, 0);
    int n = static_cast<int>(Min(count, static_cast<size_t>(m0)));
    for (int i = 0; i < n; ++i)
        out[i] = links[i];
    if (L.reach_extra[id] != kNone) {
        if (n < m0)
            out[n++] = L.reach_extra[id];
        else
            out[n - 1] = L.reach_extra[id];
    }
    return n;
}

// Marks everything reachable on level 0 from `start` (breadth first).
void mark_reachable(const Layout &L, uint32 start, bool *reached, uint32 *queue, uint32 *links)
{
    if (reached[start])
        return;
    uint32 head = 0, tail = 0;
    reached[start] = true;
    queue[tail++] = start;
    while (head < tail) {
        uint32 id = queue[head++];
        int n = graph_links0(L, id, links);
        for (int i = 0; i < n; ++i)
            if (!reached[links[i]]) {
                reached[links[i]] = true;
                queue[tail++] = links[i];
            }
    }
}

// The graph's pruning can leave a node without any in-link on level 0, which no scan could
// ever reach. Each such node gets one from a reached node of its own list (one with room
// preferred, so no other link is lost), recorded in reach_extra[]; repeated until all are
// reached. Heads of duplicate groups are not chosen (their list makes room for the group).
void fix_reachability(Layout *L)
{
    const uint32 n = L->n;
    const int m0 = 2 * L->m;
    const Graph *g = L->g;
    auto *reached = static_cast<bool *>(palloc_extended(n, MCXT_ALLOC_HUGE));
    auto *queue = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * n, MCXT_ALLOC_HUGE));
    auto *links = static_cast<uint32 *>(palloc(sizeof(uint32) * m0));
    auto free_to_take = [&](uint32 y) {
        return reached[y] && L->reach_extra[y] == kNone && L->group_size[y] == 0;
    };
    for (int round = 0; round < 8; ++round) {
        std::memset(reached, 0, n);
        mark_reachable(*L, g->entry_point(), reached, queue, links);
        bool all = true;
        for (uint32 x = 0; x < n; ++x) {
            if (reached[x])
                continue;
            all = false;
            auto [xl, xc] = g->neighbors(x, 0);
            uint32 pick = kNone;
            for (int pass = 0; pass < 2 && pick == kNone; ++pass)
                for (size_t i = 0; i < xc && pick == kNone; ++i) {
                    uint32 y = xl[i];
                    if (free_to_take(y) &&
                        (pass == 1 || g->neighbors(y, 0).second < static_cast<size_t>(m0)))
                        pick = y;
                }
            for (uint32 y = 0; y < n && pick == kNone; ++y)
                if (free_to_take(y) && g->neighbors(y, 0).second < static_cast<size_t>(m0))
                    pick = y;
            if (pick == kNone)
                continue;
            L->reach_extra[pick] = x;
            mark_reachable(*L, x, reached, queue, links);
        }
        if (all)
            break;
        CHECK_FOR_INTERRUPTS();
    }
    pfree(reached);
    pfree(queue);
    pfree(links);
}

// The member each group head's first extra takes the place of, when the head's list is full
// (after the reachability pass, which never adds to a head's list).
void plan_groups(Layout *L, uint32 *links0)
{
    for (uint32 id = 0; id < L->n; ++id) {
        if (L->group_size[id] == 0)
            continue;
        int n = graph_links0(*L, id, links0);
        if (n == 2 * L->m)
            L->displaced[id] = links0[n - 1];
    }
}

// Level-0 list of node `id` as written: graph_links0, then its group's first extra (appended,
// or in place of the farthest member, see plan_groups).
int written_links0(const Layout &L, uint32 id, uint32 *out)
{
    int n = graph_links0(L, id, out);
    if (L.group_size[id] > 0) {
        if (L.displaced[id] != kNone)
            out[n - 1] = L.group_first[id];
        else
            out[n++] = L.group_first[id];
    }
    return n;
}

// Level-0 list of extra `x` (rank r in its node's group): its children in the tree, the member
// the first extra displaced, the node, then the node's own neighbours while there is room.
int extra_links0(const Layout *L, uint32 x, uint32 *out)
{
    const int m0 = 2 * L->m;
    const uint32 owner = L->extra_owner[x - L->n];
    const uint32 first = L->group_first[owner];
    const uint32 size = L->group_size[owner];
    const uint32 r = x - first;
    const uint32 branching = static_cast<uint32>(Max(L->m, 2));
    int n = 0;
    for (uint32 c = r * branching + 1; c <= r * branching + branching && c < size && n < m0; ++c)
        out[n++] = first + c;
    if (r == 0 && L->displaced[owner] != kNone && n < m0)
        out[n++] = L->displaced[owner];
    if (n < m0)
        out[n++] = owner;
    auto [links, count] = L->g->neighbors(owner, 0);
    for (size_t i = 0; i < count && n < m0; ++i) {
        bool dup = false;
        for (int k = 0; k < n && !dup; ++k)
            dup = out[k] == links[i];
        if (!dup)
            out[n++] = links[i];
    }
    return n;
}

// Level-0 breadth-first order of the graph's nodes from the entry point, each node followed by
// its group's extras: neighbours land on nearby pages, so a walk touches fewer pages. Nodes not
// reached come last, in insertion order.
uint32 *walk_order(const Layout &L)
{
    const Graph *g = L.g;
    const uint32 n = L.n;
    auto *nodes = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * n, MCXT_ALLOC_HUGE));
    auto *seen = static_cast<bool *>(palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
    uint32 head = 0, tail = 0;
    nodes[tail++] = g->entry_point();
    seen[g->entry_point()] = true;
    while (head < tail) {
        uint32 id = nodes[head++];
        auto [links, count] = g->neighbors(id, 0);
        for (size_t i = 0; i < count; ++i) {
            if (!seen[links[i]]) {
                seen[links[i]] = true;
                nodes[tail++] = links[i];
            }
        }
    }
    for (uint32 id = 0; id < n; ++id)
        if (!seen[id])
            nodes[tail++] = id;
    pfree(seen);

    auto *order = static_cast<uint32 *>(
        palloc_extended(sizeof(uint32) * (static_cast<Size>(n) + L.extras), MCXT_ALLOC_HUGE));
    uint32 k = 0;
    for (uint32 i = 0; i < n; ++i) {
        uint32 id = nodes[i];
        order[k++] = id;
        for (uint32 e = 0; e < L.group_size[id]; ++e)
            order[k++] = L.group_first[id] + e;
    }
    pfree(nodes);
    return order;
}

// Orders a node's labels by payload and cuts them into elements: at most HNSW_HEAPTIDS each,
// one payload each. Returns the number of elements.
uint32 split_by_payload(Layout *L, uint32 id, uint32 sp)
{
    auto [labels, nl] = L->g->labels(id);
    struct Item { const uint8 *p; Size len; uint32 index; };
    auto *items = static_cast<Item *>(palloc_extended(sizeof(Item) * nl, MCXT_ALLOC_HUGE));
    for (size_t i = 0; i < nl; ++i) {
        items[i].p = hnsw_payloads_get(L->payloads, labels[i], &items[i].len);
        if (items[i].p == nullptr)
            elog(ERROR, "hnsw build lost the filter values of a row");
        items[i].index = static_cast<uint32>(i);
    }
    auto same = [](const Item &a, const Item &b) {
        return a.len == b.len && std::memcmp(a.p, b.p, a.len) == 0;
    };
    std::sort(items, items + nl, [](const Item &a, const Item &b) {
        if (a.len != b.len)
            return a.len < b.len;
        int c = std::memcmp(a.p, b.p, a.len);
        return c != 0 ? c < 0 : a.index < b.index;
    });
    auto *perm = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * nl, MCXT_ALLOC_HUGE));
    auto *bounds = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * (nl + 1), MCXT_ALLOC_HUGE));
    uint32 chunks = 0;
    uint32 run = 0;
    for (size_t i = 0; i < nl; ++i) {
        perm[i] = items[i].index;
        if (i == 0 || run == HNSW_HEAPTIDS || !same(items[i], items[i - 1])) {
            bounds[chunks++] = static_cast<uint32>(i);
            run = 0;
        }
        ++run;
    }
    bounds[chunks] = static_cast<uint32>(nl);
    pfree(items);
    L->perm[sp] = perm;
    L->bounds[sp] = bounds;
    return chunks;
}

void init_layout(Layout *L, const Graph *g, int m, const HnswPayloadStore *payloads)
{
    L->g = g;
    L->m = m;
    L->payloads = payloads;
    L->split = nullptr;
    L->perm = nullptr;
    L->bounds = nullptr;
    L->n = static_cast<uint32>(g->size());
    const Size n = L->n;
    auto alloc = [](Size bytes) { return palloc_extended(bytes > 0 ? bytes : 1, MCXT_ALLOC_HUGE); };
    L->group_first = static_cast<uint32 *>(alloc(sizeof(uint32) * n));
    L->group_size = static_cast<uint32 *>(alloc(sizeof(uint32) * n));
    L->reach_extra = static_cast<uint32 *>(alloc(sizeof(uint32) * n));
    L->displaced = static_cast<uint32 *>(alloc(sizeof(uint32) * n));
    if (payloads != nullptr) {
        uint32 splits = 0;
        L->split = static_cast<uint32 *>(alloc(sizeof(uint32) * n));
        for (uint32 id = 0; id < L->n; ++id)
            L->split[id] = g->labels(id).second > 1 ? splits++ : kNone;
        L->perm = static_cast<uint32 **>(alloc(sizeof(uint32 *) * splits));
        L->bounds = static_cast<uint32 **>(alloc(sizeof(uint32 *) * splits));
    }
    uint64 extras = 0;
    for (uint32 id = 0; id < L->n; ++id) {
        uint32 e = L->split != nullptr && L->split[id] != kNone
                       ? split_by_payload(L, id, L->split[id]) - 1
                       : extras_for(g->labels(id).second);
        L->group_first[id] = e > 0 ? static_cast<uint32>(n + extras) : kNone;
        L->group_size[id] = e;
        L->reach_extra[id] = kNone;
        L->displaced[id] = kNone;
        extras += e;
    }
    if (n + extras >= kNone)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("too many elements for an hnsw index build")));
    L->extras = static_cast<uint32>(extras);
    L->extra_owner = static_cast<uint32 *>(alloc(sizeof(uint32) * L->extras));
    for (uint32 id = 0; id < L->n; ++id)
        for (uint32 e = 0; e < L->group_size[id]; ++e)
            L->extra_owner[L->group_first[id] - L->n + e] = id;
    L->loc = static_cast<Location *>(alloc(sizeof(Location) * (n + L->extras)));
}

inline int level_of(const Layout &L, uint32 id) { return id < L.n ? L.g->level(id) : 0; }
inline uint32 node_of(const Layout &L, uint32 id) { return id < L.n ? id : L.extra_owner[id - L.n]; }

// Heap TIDs element `id` carries: [*first, *last) of its node's labels.
void label_range(const Layout &L, uint32 id, size_t *first, size_t *last)
{
    const uint32 node = node_of(L, id);
    const size_t nl = L.g->labels(node).second;
    const size_t rank = id < L.n ? 0 : id - L.group_first[node] + 1;
    if (L.split != nullptr && L.split[node] != kNone) {
        const uint32 *bounds = L.bounds[L.split[node]];
        *first = bounds[rank];
        *last = bounds[rank + 1];
        return;
    }
    *first = rank * HNSW_HEAPTIDS;
    *last = Min(nl, *first + HNSW_HEAPTIDS);
}

// The payload element `id` carries (its first row's), or NULL without filter columns.
const uint8 *element_payload(const Layout &L, uint32 id, Size *len)
{
    *len = 0;
    if (L.payloads == nullptr)
        return nullptr;
    size_t first, last;
    label_range(L, id, &first, &last);
    const uint8 *p = hnsw_payloads_get(L.payloads, label_at(L, node_of(L, id), first), len);
    if (p == nullptr)
        elog(ERROR, "hnsw build lost the filter values of a row");
    return p;
}

Size element_size(const Layout &L, uint32 id)
{
    Size payload_len;
    element_payload(L, id, &payload_len);
    return hnsw_element_tuple_size(payload_len, L.g->code_bytes(node_of(L, id)));
}

// Pass 1: where every tuple goes (same rule as inserts: together when both fit on one page).
BlockNumber plan_pages(Layout *L, const uint32 *order)
{
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
    const uint64 total = static_cast<uint64>(L->n) + L->extras;
    for (uint64 i = 0; i < total; ++i) {
        uint32 id = order[i];
        Size esize = element_size(*L, id) + sizeof(ItemIdData);
        Size nsize = hnsw_neighbor_tuple_size(level_of(*L, id), L->m) + sizeof(ItemIdData);
        if (esize + nsize <= page_room)
            need_page(esize + nsize);
        else
            need_page(esize);
        L->loc[id].eblk = blk;
        L->loc[id].eoff = next_off++;
        free -= esize;
        need_page(nsize);
        L->loc[id].nblk = blk;
        L->loc[id].noff = next_off++;
        free -= nsize;
    }
    return blk;
}

void fill_element(const Layout &L, uint32 id, HnswElementTuple etup, Size esize)
{
    const uint32 node = node_of(L, id);
    const Size code_len = L.g->code_bytes(node);
    std::memset(etup, 0, esize);
    etup->type = HNSW_ELEMENT_TUPLE;
    etup->level = static_cast<uint8>(level_of(L, id));
    size_t first, last;
    label_range(L, id, &first, &last);
    etup->heaptid_count = static_cast<uint8>(last - first);
    for (int t = 0; t < HNSW_HEAPTIDS; ++t) {
        if (first + t < last)
            label_tid(label_at(L, node, first + t), &etup->heaptids[t]);
        else
            ItemPointerSetInvalid(&etup->heaptids[t]);
    }
    ItemPointerSet(&etup->neighbortid, L.loc[id].nblk, L.loc[id].noff);
    Size payload_len;
    const uint8 *payload = element_payload(L, id, &payload_len);
    etup->payload_len = static_cast<uint16>(payload_len);
    if (payload_len > 0)
        std::memcpy(etup->data, payload, payload_len);
    etup->code_len = static_cast<uint16>(code_len);
    std::memcpy(hnsw_element_code(etup), L.g->code(node), code_len);
}

void fill_neighbors(const Layout *L, uint32 id, HnswNeighborTuple ntup, Size nsize, uint32 *links0)
{
    const int m = L->m;
    const int level = level_of(*L, id);
    const int slots = hnsw_neighbor_slots(level, m);
    std::memset(ntup, 0, nsize);
    ntup->type = HNSW_NEIGHBOR_TUPLE;
    ntup->count = static_cast<uint16>(slots);
    for (int t = 0; t < slots; ++t)
        ItemPointerSetInvalid(&ntup->tids[t]);
    auto set = [&](ItemPointerData *slot, uint32 target) {
        ItemPointerSet(slot, L->loc[target].eblk, L->loc[target].eoff);
    };
    int count = id < L->n ? written_links0(*L, id, links0) : extra_links0(L, id, links0);
    for (int k = 0; k < count; ++k)
        set(&ntup->tids[k], links0[k]);
    for (int l = 1; l <= level; ++l) {
        ItemPointerData *run = ntup->tids + hnsw_level_first_slot(l, m);
        auto [links, lc] = L->g->neighbors(id, l);
        size_t limit = Min(lc, static_cast<size_t>(hnsw_level_slot_count(l, m)));
        for (size_t k = 0; k < limit; ++k)
            set(&run[k], links[k]);
    }
}

}  // namespace

void hnsw_write_graph(Relation index, ForkNumber fork, const quiver::core::hnsw::Graph *g, int m,
                      const HnswPayloadStore *payloads)
{
    if (g->size() == 0)
        return;
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
    Layout L;
    init_layout(&L, g, m, payloads);
    auto *links0 = static_cast<uint32 *>(palloc(sizeof(uint32) * 2 * m));
    fix_reachability(&L);
    plan_groups(&L, links0);
    uint32 *order = walk_order(L);
    const BlockNumber last_block = plan_pages(&L, order);

    // Pass 2: write the pages in that order.
    auto etup = static_cast<HnswElementTuple>(palloc(hnsw_element_tuple_size(0, 0) + BLCKSZ));
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
        buf = hnsw_new_buffer(index, fork);
        if (BufferGetBlockNumber(buf) != want)
            elog(ERROR, "unexpected block %u while writing hnsw index \"%s\" (wanted %u)",
                 BufferGetBlockNumber(buf), RelationGetRelationName(index), want);
        page = BufferGetPage(buf);
        hnsw_init_page(page, HNSW_PAGE_ELEMENT);
    };
    auto add = [&](Item item, Size size, OffsetNumber off) {
        if (PageAddItem(page, item, size, off, false, false) != off)
            elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
    };
    const uint64 total = static_cast<uint64>(L.n) + L.extras;
    for (uint64 i = 0; i < total; ++i) {
        uint32 id = order[i];
        const Size esize = element_size(L, id);
        if (esize > HNSW_MAX_TUPLE_SIZE)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("index row size %zu exceeds hnsw maximum, %zu, for index \"%s\"",
                                   esize, static_cast<Size>(HNSW_MAX_TUPLE_SIZE),
                                   RelationGetRelationName(index))));
        const Size nsize = hnsw_neighbor_tuple_size(level_of(L, id), m);
        fill_element(L, id, etup, esize);
        fill_neighbors(&L, id, ntup, nsize, links0);
        page_for(L.loc[id].eblk);
        add(reinterpret_cast<Item>(etup), esize, L.loc[id].eoff);
        page_for(L.loc[id].nblk);
        add(reinterpret_cast<Item>(ntup), nsize, L.loc[id].noff);
    }
    if (BufferIsValid(buf)) {
        MarkBufferDirty(buf);
        UnlockReleaseBuffer(buf);
    }

    // Entry point, insert hint, counts.
    Buffer mbuf = ReadBufferExtended(index, fork, HNSW_METAPAGE_BLKNO, RBM_NORMAL, nullptr);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    HnswMetaPage meta = HnswPageGetMeta(BufferGetPage(mbuf));
    uint32 ep = g->entry_point();
    ItemPointerSet(&meta->entry, L.loc[ep].eblk, L.loc[ep].eoff);
    meta->entry_level = static_cast<int16>(g->level(ep));
    meta->insert_page = last_block;
    meta->element_count = total;
    MarkBufferDirty(mbuf);
    UnlockReleaseBuffer(mbuf);
}

}  // namespace quiver::pg
