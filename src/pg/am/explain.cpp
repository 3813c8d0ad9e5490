// What quiver's index scans did, in EXPLAIN ANALYZE: PostgreSQL 15 gives an index access method
// no way to add lines to its plan node, so each scan reports its strategy and counts here when
// it ends or restarts, summed per index, and an ExplainOneQuery_hook prints the sums after the
// plan (text format):
//   Quiver scans:
//     items_f (hnsw): 1 scan, strategy walk, 1243 elements visited, 10 returned
// The hook plans and explains the query the way PostgreSQL's own ExplainOneQuery does, then
// adds the lines; other hooks installed before ours are called instead of that when present.
#include "quiver/pg/am.h"

extern "C" {
#include "commands/explain.h"
#include "lib/stringinfo.h"
#include "optimizer/optimizer.h"
#include "portability/instr_time.h"
#include "tcop/tcopprot.h"
#include "utils/lsyscache.h"
}

#include <cstring>

namespace quiver::pg {
namespace {

constexpr int kMaxReported = 16;  // distinct index + strategy pairs per query; more are summed
                                  // into the last

struct ScanTotals {
    Oid index;
    char am[8];
    char strategy[24];
    int64 scans;
    int64 visited;
    int64 returned;
    int64 buckets;  // lsh: buckets probed; -1 for the other access methods
};

ScanTotals totals[kMaxReported];
int total_count = 0;
ExplainOneQuery_hook_type previous_hook = nullptr;

void explain_one_query(Query *query, int cursor_options, IntoClause *into, ExplainState *es,
                       const char *query_string, ParamListInfo params, QueryEnvironment *query_env)
{
    total_count = 0;
    if (previous_hook != nullptr) {
        previous_hook(query, cursor_options, into, es, query_string, params, query_env);
    } else {
        instr_time start, duration;
        BufferUsage bufusage_start, bufusage;
        if (es->buffers)
            bufusage_start = pgBufferUsage;
        INSTR_TIME_SET_CURRENT(start);
        PlannedStmt *plan = pg_plan_query(query, query_string, cursor_options, params);
        INSTR_TIME_SET_CURRENT(duration);
        INSTR_TIME_SUBTRACT(duration, start);
        if (es->buffers) {
            std::memset(&bufusage, 0, sizeof bufusage);
            BufferUsageAccumDiff(&bufusage, &pgBufferUsage, &bufusage_start);
        }
        ExplainOnePlan(plan, into, es, query_string, params, query_env, &duration,
                       es->buffers ? &bufusage : nullptr);
    }
    if (!es->analyze || es->format != EXPLAIN_FORMAT_TEXT || total_count == 0)
        return;
    appendStringInfoString(es->str, "Quiver scans:\n");
    for (int i = 0; i < total_count; ++i) {
        const ScanTotals &t = totals[i];
        char *name = get_rel_name(t.index);
        if (t.buckets >= 0) {
            appendStringInfo(es->str,
                             "  %s (%s): " INT64_FORMAT " scan%s, strategy %s, " INT64_FORMAT
                             " buckets probed, " INT64_FORMAT " candidates re-ranked, " INT64_FORMAT
                             " returned\n",
                             name != nullptr ? name : "?", t.am, t.scans, t.scans == 1 ? "" : "s",
                             t.strategy, t.buckets, t.visited, t.returned);
            continue;
        }
        appendStringInfo(es->str,
                         "  %s (%s): " INT64_FORMAT " scan%s, strategy %s, " INT64_FORMAT
                         " elements visited, " INT64_FORMAT " returned\n",
                         name != nullptr ? name : "?", t.am, t.scans, t.scans == 1 ? "" : "s",
                         t.strategy, t.visited, t.returned);
    }
    total_count = 0;
}

}  // namespace

void am_explain_init()
{
    previous_hook = ExplainOneQuery_hook;
    ExplainOneQuery_hook = explain_one_query;
}

void am_report_scan(Relation index, const char *am, const char *strategy, int64 visited,
                    int64 returned, int64 buckets)
{
    const Oid oid = RelationGetRelid(index);
    ScanTotals *t = nullptr;
    for (int i = 0; i < total_count && t == nullptr; ++i)
        if (totals[i].index == oid && std::strcmp(totals[i].strategy, strategy) == 0)
            t = &totals[i];
    if (t == nullptr) {
        t = &totals[total_count < kMaxReported ? total_count++ : kMaxReported - 1];
        std::memset(t, 0, sizeof *t);
        t->index = oid;
        t->buckets = buckets >= 0 ? 0 : -1;
        strlcpy(t->am, am, sizeof t->am);
        strlcpy(t->strategy, strategy, sizeof t->strategy);
    }
    t->scans += 1;
    t->visited += visited;
    t->returned += returned;
    if (buckets >= 0)
        t->buckets += buckets;
}

}  // namespace quiver::pg
