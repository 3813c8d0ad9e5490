// The `ivfflat` and `ivf` access methods: handlers, options, GUCs, cost estimate, opclass
// descriptions. ivfflat has pgvector's SQL surface (names, ranges, defaults); ivf adds
// quantizer, pq_m, pq_nbits and rerank (see ivf.h). One implementation serves both.
#include "quiver/pg/ivf.h"
#include "quiver/pg/types.h"

extern "C" {
#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/rel.h"
}

#include <cmath>
#include <cstring>

using quiver::core::Metric;
using quiver::core::Representation;

int ivfflat_probes = IVFFLAT_DEFAULT_PROBES;
int ivfflat_iterative_scan = IVF_ITERATIVE_SCAN_OFF;
int ivfflat_max_probes = IVFFLAT_MAX_LISTS;
int ivf_probes = IVFFLAT_DEFAULT_PROBES;
int ivf_iterative_scan = IVF_ITERATIVE_SCAN_OFF;
int ivf_max_probes = IVFFLAT_MAX_LISTS;
int ivf_rerank = -1;

namespace {

relopt_kind ivfflat_relopt_kind;
relopt_kind ivf_relopt_kind;

void validate_quantizer(const char *value)
{
    if (value == nullptr || std::strcmp(value, "pq") == 0 || std::strcmp(value, "sq8") == 0 ||
        std::strcmp(value, "bit") == 0 || std::strcmp(value, "flat") == 0)
        return;
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid value for quantizer option: \"%s\"", value),
                    errdetail("Valid values are \"pq\", \"sq8\", \"bit\" and \"flat\".")));
}

const struct config_enum_entry iterative_scan_options[] = {
    {"off", IVF_ITERATIVE_SCAN_OFF, false},
    {"relaxed_order", IVF_ITERATIVE_SCAN_RELAXED, false},
    {nullptr, 0, false},
};

char *ivfflatbuildphasename(int64 phase)
{
    switch (phase) {
    case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
        return const_cast<char *>("initializing");
    case IVF_PHASE_KMEANS:
        return const_cast<char *>("performing k-means");
    case IVF_PHASE_ASSIGN:
        return const_cast<char *>("assigning tuples");
    case IVF_PHASE_LOAD:
        return const_cast<char *>("loading tuples");
    default:
        return nullptr;
    }
}

// A scan reads the centroids, then every entry of `probes` lists before its first row (it
// ranks them all), so the probed share of the index is startup cost, as in pgvector. Beyond
// that, like hnsw's estimate: a filter of selectivity s makes LIMIT k need k / s rows, which a
// scan without iterative_scan cannot return from its lists; each further `probes` lists are
// charged as another startup's worth.
void ivfflatcostestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup_cost,
                         Cost *total_cost, Selectivity *selectivity, double *correlation,
                         double *pages)
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
    const IvfIndexInfo *info = quiver::pg::ivf_index_info(index);
    const bool ivf = quiver::pg::ivf_is_quantized_am(index);
    const int probes_setting = ivf ? ivf_probes : ivfflat_probes;
    const int iterative = ivf ? ivf_iterative_scan : ivfflat_iterative_scan;
    const double lists = info->lists;
    const double centroid_pages =
        quiver::pg::ivf_stream_pages(static_cast<Size>(info->lists) * info->centroid_len);
    index_close(index, NoLock);

    GenericCosts costs;
    const Selectivity quals_selectivity = quiver::pg::am_whole_index_costs(root, path, loop_count, &costs);

    // Filter columns: a filtered scan reads about probes / s lists (s: the index quals'
    // selectivity; see ivfscan.cpp), skipping the entries that fail them.
    double probes = Min(static_cast<double>(probes_setting), lists);
    const double tuples_all = path->indexinfo->tuples;
    if (path->indexclauses != NIL && tuples_all > 0)
        probes = Min(lists, probes / Max(quals_selectivity, 1.0 / tuples_all));
    const double ratio = probes / lists;
    double random_cost, seq_cost;
    get_tablespace_page_costs(path->indexinfo->reltablespace, &random_cost, &seq_cost);
    // Lists are chains of consecutive pages: read mostly sequentially.
    const double entry_pages = Max(0.0, costs.numIndexPages - centroid_pages);
    Cost startup = costs.indexTotalCost * ratio + centroid_pages * seq_cost +
                   lists * path->indexinfo->ncolumns * cpu_operator_cost;
    if (random_cost > seq_cost)
        startup -= entry_pages * ratio * (random_cost - seq_cost);
    startup = Max(startup, 0.0);

    const double tuples = path->indexinfo->tuples;
    Cost total = Max(costs.indexTotalCost, startup);
    if (iterative == IVF_ITERATIVE_SCAN_OFF && ratio < 1 && tuples > 0 && path->indexclauses == NIL) {
        total = Max(total, startup / ratio);
        // Without iterative scans the probed lists are all there is. When the rows of the
        // table's filters expected in them fall short of twice the LIMIT (a Poisson count with
        // that mean falls short of the LIMIT itself in under 3% of queries from 10 rows on),
        // the scan would likely return fewer rows than asked for: cost it as more than reading
        // the whole index, so that a plan which returns them all wins.
        const double limit = root->limit_tuples;
        RelOptInfo *rel = path->indexinfo->rel;
        if (limit > 0 && rel->baserestrictinfo != NIL) {
            Selectivity sel = clauselist_selectivity(root, rel->baserestrictinfo, rel->relid,
                                                     JOIN_INNER, nullptr);
            double yield = tuples * ratio * sel;
            if (yield < 2 * limit) {
                double penalty = costs.indexTotalCost * (2 * limit / Max(yield, 1.0));
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

bytea *ivfflatoptions(Datum reloptions, bool validate)
{
    static const relopt_parse_elt tab[] = {
        {"lists", RELOPT_TYPE_INT, offsetof(IvfOptions, lists)},
    };
    return static_cast<bytea *>(build_reloptions(reloptions, validate, ivfflat_relopt_kind,
                                                 sizeof(IvfOptions), tab, lengthof(tab)));
}

bool ivfflatvalidate(Oid opclassoid) { return quiver::pg::am_validate_opclass(opclassoid, "ivfflat"); }

bytea *ivfoptions(Datum reloptions, bool validate)
{
    static const relopt_parse_elt tab[] = {
        {"lists", RELOPT_TYPE_INT, offsetof(IvfOptions, lists)},
        {"quantizer", RELOPT_TYPE_STRING, offsetof(IvfOptions, quantizer_offset)},
        {"pq_m", RELOPT_TYPE_INT, offsetof(IvfOptions, pq_m)},
        {"pq_nbits", RELOPT_TYPE_INT, offsetof(IvfOptions, pq_nbits)},
        {"rerank", RELOPT_TYPE_INT, offsetof(IvfOptions, rerank)},
    };
    auto *opts = static_cast<IvfOptions *>(static_cast<void *>(build_reloptions(
        reloptions, validate, ivf_relopt_kind, sizeof(IvfOptions), tab, lengthof(tab))));
    if (opts != nullptr && validate && opts->pq_nbits != 4 && opts->pq_nbits != 8)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("pq_nbits must be 4 or 8, not %d", opts->pq_nbits)));
    return reinterpret_cast<bytea *>(opts);
}

bool ivfvalidate(Oid opclassoid) { return quiver::pg::am_validate_opclass(opclassoid, "ivf"); }

}  // namespace

namespace quiver::pg {

void ivf_init()
{
    ivfflat_relopt_kind = add_reloption_kind();
    add_int_reloption(ivfflat_relopt_kind, "lists", "Number of inverted lists",
                      IVFFLAT_DEFAULT_LISTS, IVFFLAT_MIN_LISTS, IVFFLAT_MAX_LISTS,
                      AccessExclusiveLock);

    DefineCustomIntVariable("ivfflat.probes", "Sets the number of probes",
                            "Valid range is 1..lists.", &ivfflat_probes, IVFFLAT_DEFAULT_PROBES,
                            1, IVFFLAT_MAX_LISTS, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomEnumVariable("ivfflat.iterative_scan", "Sets the mode for iterative scans", nullptr,
                             &ivfflat_iterative_scan, IVF_ITERATIVE_SCAN_OFF,
                             iterative_scan_options, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivfflat.max_probes", "Sets the max number of probes for iterative scans",
                            nullptr, &ivfflat_max_probes, IVFFLAT_MAX_LISTS, 1, IVFFLAT_MAX_LISTS,
                            PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("ivfflat");

    ivf_relopt_kind = add_reloption_kind();
    add_int_reloption(ivf_relopt_kind, "lists", "Number of inverted lists", IVFFLAT_DEFAULT_LISTS,
                      IVFFLAT_MIN_LISTS, IVFFLAT_MAX_LISTS, AccessExclusiveLock);
    add_string_reloption(ivf_relopt_kind, "quantizer", "What the lists store: pq, sq8, bit or flat", "pq",
                         validate_quantizer, AccessExclusiveLock);
    add_int_reloption(ivf_relopt_kind, "pq_m", "Product quantizer sub-spaces (0: dimensions / 4 or the next divisor below)",
                      0, 0, IVF_MAX_DIM, AccessExclusiveLock);
    add_int_reloption(ivf_relopt_kind, "pq_nbits", "Bits per product quantizer code: 4 or 8", 8, 4, 8,
                      AccessExclusiveLock);
    add_int_reloption(ivf_relopt_kind, "rerank", "Candidates re-ranked by exact distance (0: none)",
                      IVF_DEFAULT_RERANK, 0, IVF_MAX_RERANK, AccessExclusiveLock);
    DefineCustomIntVariable("ivf.probes", "Sets the number of probes", "Valid range is 1..lists.",
                            &ivf_probes, IVFFLAT_DEFAULT_PROBES, 1, IVFFLAT_MAX_LISTS, PGC_USERSET, 0,
                            nullptr, nullptr, nullptr);
    DefineCustomEnumVariable("ivf.iterative_scan", "Sets the mode for iterative scans", nullptr,
                             &ivf_iterative_scan, IVF_ITERATIVE_SCAN_OFF, iterative_scan_options,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivf.max_probes", "Sets the max number of probes for iterative scans",
                            nullptr, &ivf_max_probes, IVFFLAT_MAX_LISTS, 1, IVFFLAT_MAX_LISTS,
                            PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivf.rerank", "Sets the number of candidates re-ranked by exact distance",
                            "-1 uses the index's rerank option; 0 returns the code-distance order.",
                            &ivf_rerank, -1, -1, IVF_MAX_RERANK, PGC_USERSET, 0, nullptr, nullptr,
                            nullptr);
    MarkGUCPrefixReserved("ivf");
}

}  // namespace quiver::pg

namespace {

// What ivfflat and ivf share: everything but the build entry point (which tells them apart),
// the options and the validator's name.
IndexAmRoutine *ivf_routine()
{
    IndexAmRoutine *am = makeNode(IndexAmRoutine);
    am->amstrategies = 0;
    am->amsupport = IVF_NPROCS;
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

    am->ambuild = quiver::pg::ivfflatbuild;
    am->ambuildempty = quiver::pg::ivfflatbuildempty;
    am->aminsert = quiver::pg::ivfflatinsert;
    am->ambulkdelete = quiver::pg::ivfflatbulkdelete;
    am->amvacuumcleanup = quiver::pg::ivfflatvacuumcleanup;
    am->amcanreturn = nullptr;
    am->amcostestimate = ivfflatcostestimate;
    am->amoptions = ivfflatoptions;
    am->amproperty = nullptr;
    am->ambuildphasename = ivfflatbuildphasename;
    am->amvalidate = ivfflatvalidate;
    am->amadjustmembers = nullptr;
    am->ambeginscan = quiver::pg::ivfflatbeginscan;
    am->amrescan = quiver::pg::ivfflatrescan;
    am->amgettuple = quiver::pg::ivfflatgettuple;
    am->amgetbitmap = nullptr;
    am->amendscan = quiver::pg::ivfflatendscan;
    am->ammarkpos = nullptr;
    am->amrestrpos = nullptr;
    am->amestimateparallelscan = nullptr;
    am->aminitparallelscan = nullptr;
    am->amparallelrescan = nullptr;
    return am;
}

}  // namespace

QUIVER_FUNCTION(ivfflathandler)
{
    IndexAmRoutine *am = ivf_routine();
    PG_RETURN_POINTER(am);
}

QUIVER_FUNCTION(ivfhandler)
{
    IndexAmRoutine *am = ivf_routine();
    am->ambuild = quiver::pg::ivfbuild;
    am->amoptions = ivfoptions;
    am->amvalidate = ivfvalidate;
    PG_RETURN_POINTER(am);
}

// ---- support function 3: one static description per opclass -----------------------------------

#define IVFFLAT_OPCLASS_INFO(fname, type, op, rep, metric, normalize, maxdim)                  \
    static const QuiverOpclassInfo fname##_data = {QUIVER_OPCLASS_INFO_MAGIC, type, op, rep,  \
                                                   metric, normalize, maxdim, 0};             \
    QUIVER_FUNCTION(fname) { PG_RETURN_POINTER(const_cast<QuiverOpclassInfo *>(&fname##_data)); }

IVFFLAT_OPCLASS_INFO(quiver_ivfflat_vector_l2_info, "vector", "<->", Representation::f32,
                     Metric::l2sq, false, IVFFLAT_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivfflat_vector_ip_info, "vector", "<#>", Representation::f32,
                     Metric::neg_dot, false, IVFFLAT_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivfflat_vector_cosine_info, "vector", "<=>", Representation::f32,
                     Metric::neg_dot, true, IVFFLAT_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivfflat_halfvec_l2_info, "halfvec", "<->", Representation::f16,
                     Metric::l2sq, false, IVFFLAT_MAX_HALFVEC_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivfflat_halfvec_ip_info, "halfvec", "<#>", Representation::f16,
                     Metric::neg_dot, false, IVFFLAT_MAX_HALFVEC_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivfflat_halfvec_cosine_info, "halfvec", "<=>", Representation::f16,
                     Metric::neg_dot, true, IVFFLAT_MAX_HALFVEC_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivfflat_bit_hamming_info, "bit", "<~>", Representation::bits,
                     Metric::hamming, false, IVFFLAT_MAX_BIT_DIM)

// ivf: quantized lists hold vectors and halfvecs of up to 16,000 dimensions.
IVFFLAT_OPCLASS_INFO(quiver_ivf_vector_l2_info, "vector", "<->", Representation::f32,
                     Metric::l2sq, false, IVF_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivf_vector_ip_info, "vector", "<#>", Representation::f32,
                     Metric::neg_dot, false, IVF_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivf_vector_cosine_info, "vector", "<=>", Representation::f32,
                     Metric::neg_dot, true, IVF_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivf_halfvec_l2_info, "halfvec", "<->", Representation::f16,
                     Metric::l2sq, false, IVF_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivf_halfvec_ip_info, "halfvec", "<#>", Representation::f16,
                     Metric::neg_dot, false, IVF_MAX_DIM)
IVFFLAT_OPCLASS_INFO(quiver_ivf_halfvec_cosine_info, "halfvec", "<=>", Representation::f16,
                     Metric::neg_dot, true, IVF_MAX_DIM)
