// The `lsh` access method: handler, options, GUCs, cost estimate, opclass descriptions (see
// quiver/pg/lsh.h).
#include "quiver/pg/lsh.h"
#include "quiver/pg/types.h"

extern "C" {
#include "access/reloptions.h"
#include "commands/vacuum.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/rel.h"
}

#include <cmath>

using quiver::core::Metric;
using quiver::core::Representation;

int lsh_probes = 0;
int lsh_iterative_scan = LSH_ITERATIVE_SCAN_OFF;
int lsh_max_probes = LSH_MAX_PROBES;

namespace {

relopt_kind lsh_relopt_kind;

const struct config_enum_entry iterative_scan_options[] = {
    {"off", LSH_ITERATIVE_SCAN_OFF, false},
    {"relaxed_order", LSH_ITERATIVE_SCAN_RELAXED, false},
    {nullptr, 0, false},
};

// A scan reads, per table, the directory slot and the bucket of each of its probes, then every
// candidate's entry, all before its first row: startup cost. The candidates are the rows that
// share a probed bucket: about N * probes * tables / B, B the buckets a table has in use
// (bit sampling and SimHash: at most 2^K; the hashed keys of p-stable and MinHash: taken as
// one bucket per 8 rows). Entries are charged as a share of the whole index's generic cost;
// a probed bucket as two page accesses at cpu_tuple_cost each, not as page reads: the scan
// visits directory and bucket pages in block order, of an index meant to stay in shared
// buffers (at random_page_cost, 64 probes on 16 tables priced a 200k-row index scan that
// takes 1 ms above a 31 ms sequential scan and sort). A filter of selectivity s makes LIMIT k
// need k / s rows: a filtered scan probes further (see lshscan.cpp), charged the same way.
void lshcostestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup_cost,
                     Cost *total_cost, Selectivity *selectivity, double *correlation, double *pages)
{
    if (path->indexorderbys == NIL) {
        *startup_cost = get_float8_infinity();
        *total_cost = get_float8_infinity();
        *selectivity = 0;
        *correlation = 0;
        *pages = 0;
        return;
    }
    Relation index = index_open(path->indexinfo->indexoid, NoLock);
    const LshIndexInfo *info = quiver::pg::lsh_index_info(index);
    const double tables = info->params.tables;
    const quiver::core::lsh::Family family = info->params.family;
    const bool bit_keys = family == quiver::core::lsh::Family::bit_sampling ||
                          family == quiver::core::lsh::Family::simhash;
    const double key_buckets = bit_keys ? std::ldexp(1.0, static_cast<int>(info->params.bits)) : get_float8_infinity();
    double probes = lsh_probes > 0 ? lsh_probes : info->probes;
    index_close(index, NoLock);

    GenericCosts costs;
    const Selectivity quals_selectivity = quiver::pg::am_whole_index_costs(root, path, loop_count, &costs);
    const double tuples = Max(path->indexinfo->tuples, 1.0);
    if (path->indexclauses != NIL)
        probes = probes / Max(quals_selectivity, 1.0 / tuples);
    const double buckets = Max(1.0, bit_keys ? Min(key_buckets, tuples) : tuples / 8);
    const double probed = Min(probes, buckets) * tables;
    const double ratio = Min(1.0, probed / buckets);
    // Hashing the query: K functions of `dimensions` each, per table.
    const double hashing = tables * info->params.bits *
                           (family == quiver::core::lsh::Family::bit_sampling ? 1.0 : info->params.dim / 4.0) *
                           cpu_operator_cost;
    Cost startup = costs.indexTotalCost * ratio + probed * 2 * cpu_tuple_cost + hashing;
    Cost total = Max(costs.indexTotalCost, startup);
    if (lsh_iterative_scan == LSH_ITERATIVE_SCAN_OFF && ratio < 1 && path->indexclauses == NIL) {
        // Without iterative scans the probed buckets are all there is: when the rows of the
        // table's filters expected in them fall short of twice the LIMIT, the scan would likely
        // return fewer rows than asked for (as for ivfflat).
        const double limit = root->limit_tuples;
        RelOptInfo *rel = path->indexinfo->rel;
        if (limit > 0 && rel->baserestrictinfo != NIL) {
            Selectivity sel = clauselist_selectivity(root, rel->baserestrictinfo, rel->relid,
                                                     JOIN_INNER, nullptr);
            const double yield = tuples * ratio * sel;
            if (yield < 2 * limit) {
                const double penalty = costs.indexTotalCost * (2 * limit / Max(yield, 1.0));
                startup += penalty;
                total += penalty;
            }
        }
    }
    *startup_cost = startup;
    *total_cost = total;
    *selectivity = quals_selectivity;
    *correlation = 0;
    *pages = costs.numIndexPages;
}

bytea *lshoptions(Datum reloptions, bool validate)
{
    static const relopt_parse_elt tab[] = {
        {"tables", RELOPT_TYPE_INT, offsetof(LshOptions, tables)},
        {"bits", RELOPT_TYPE_INT, offsetof(LshOptions, bits)},
        {"probes", RELOPT_TYPE_INT, offsetof(LshOptions, probes)},
        {"width", RELOPT_TYPE_REAL, offsetof(LshOptions, width)},
        {"seed", RELOPT_TYPE_INT, offsetof(LshOptions, seed)},
    };
    return static_cast<bytea *>(build_reloptions(reloptions, validate, lsh_relopt_kind,
                                                 sizeof(LshOptions), tab, lengthof(tab)));
}

bool lshvalidate(Oid opclassoid) { return quiver::pg::am_validate_opclass(opclassoid, "lsh"); }

}  // namespace

namespace quiver::pg {

void lsh_init()
{
    lsh_relopt_kind = add_reloption_kind();
    add_int_reloption(lsh_relopt_kind, "tables", "Hash tables (L); 0 chooses from the data", 0, 0,
                      LSH_MAX_TABLES, AccessExclusiveLock);
    add_int_reloption(lsh_relopt_kind, "bits", "Hash functions per table (K); 0 chooses from the data",
                      0, 0, LSH_MAX_BITS, AccessExclusiveLock);
    add_int_reloption(lsh_relopt_kind, "probes",
                      "Buckets a query probes per table by default; 0 chooses from the other options",
                      0, 0, LSH_MAX_PROBES, AccessExclusiveLock);
    add_real_reloption(lsh_relopt_kind, "width",
                       "Slot width of p-stable projections (vector_l2_ops); 0 chooses from the data",
                       0, 0, 1e9, AccessExclusiveLock);
    add_int_reloption(lsh_relopt_kind, "seed", "Seed of the hash functions", 1, 0, INT_MAX,
                      AccessExclusiveLock);

    DefineCustomIntVariable("lsh.probes", "Sets the number of buckets probed per hash table",
                            "0 uses the index's probes option.", &lsh_probes, 0, 0, LSH_MAX_PROBES,
                            PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomEnumVariable("lsh.iterative_scan", "Sets the mode for iterative scans", nullptr,
                             &lsh_iterative_scan, LSH_ITERATIVE_SCAN_OFF, iterative_scan_options,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lsh.max_probes",
                            "Sets the max number of buckets probed per hash table by iterative scans",
                            "Past it, an iterative scan reads the rows no probe found.",
                            &lsh_max_probes, LSH_MAX_PROBES, 1, LSH_MAX_PROBES, PGC_USERSET, 0,
                            nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("lsh");
}

}  // namespace quiver::pg

QUIVER_FUNCTION(lshhandler)
{
    IndexAmRoutine *am = makeNode(IndexAmRoutine);
    am->amstrategies = 0;
    am->amsupport = AM_NPROCS;
    am->amoptsprocnum = 0;
    am->amcanorder = false;
    am->amcanorderbyop = true;
    am->amcanbackward = false;
    am->amcanunique = false;
    am->amcanmulticol = true;   // the vector, then filter columns
    am->amoptionalkey = true;
    am->amsearcharray = true;   // filter column = ANY(array)
    am->amsearchnulls = true;   // filter column IS [NOT] NULL
    am->amstorage = false;
    am->amclusterable = false;
    am->ampredlocks = false;
    am->amcanparallel = false;
    am->amcaninclude = false;
    am->amusemaintenanceworkmem = false;
    am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
    am->amkeytype = InvalidOid;

    am->ambuild = quiver::pg::lshbuild;
    am->ambuildempty = quiver::pg::lshbuildempty;
    am->aminsert = quiver::pg::lshinsert;
    am->ambulkdelete = quiver::pg::lshbulkdelete;
    am->amvacuumcleanup = quiver::pg::lshvacuumcleanup;
    am->amcanreturn = nullptr;
    am->amcostestimate = lshcostestimate;
    am->amoptions = lshoptions;
    am->amproperty = nullptr;
    am->ambuildphasename = nullptr;
    am->amvalidate = lshvalidate;
    am->amadjustmembers = nullptr;
    am->ambeginscan = quiver::pg::lshbeginscan;
    am->amrescan = quiver::pg::lshrescan;
    am->amgettuple = quiver::pg::lshgettuple;
    am->amgetbitmap = nullptr;
    am->amendscan = quiver::pg::lshendscan;
    am->ammarkpos = nullptr;
    am->amrestrpos = nullptr;
    am->amestimateparallelscan = nullptr;
    am->aminitparallelscan = nullptr;
    am->amparallelrescan = nullptr;
    PG_RETURN_POINTER(am);
}

// ---- support function 3: one static description per opclass -----------------------------------

#define LSH_OPCLASS_INFO(fname, type, op, rep, metric, normalize, maxdim)                      \
    static const QuiverOpclassInfo fname##_data = {QUIVER_OPCLASS_INFO_MAGIC, type, op, rep,  \
                                                   metric, normalize, maxdim, 0};             \
    QUIVER_FUNCTION(fname) { PG_RETURN_POINTER(const_cast<QuiverOpclassInfo *>(&fname##_data)); }

LSH_OPCLASS_INFO(quiver_lsh_vector_l2_info, "vector", "<->", Representation::f32, Metric::l2sq,
                 false, LSH_MAX_DIM)
LSH_OPCLASS_INFO(quiver_lsh_vector_cosine_info, "vector", "<=>", Representation::f32,
                 Metric::neg_dot, true, LSH_MAX_DIM)
LSH_OPCLASS_INFO(quiver_lsh_halfvec_l2_info, "halfvec", "<->", Representation::f16, Metric::l2sq,
                 false, LSH_MAX_HALFVEC_DIM)
LSH_OPCLASS_INFO(quiver_lsh_halfvec_cosine_info, "halfvec", "<=>", Representation::f16,
                 Metric::neg_dot, true, LSH_MAX_HALFVEC_DIM)
LSH_OPCLASS_INFO(quiver_lsh_bit_hamming_info, "bit", "<~>", Representation::bits,
                 Metric::hamming, false, LSH_MAX_BIT_DIM)
LSH_OPCLASS_INFO(quiver_lsh_bit_jaccard_info, "bit", "<%>", Representation::bits,
                 Metric::jaccard, false, LSH_MAX_BIT_DIM)
