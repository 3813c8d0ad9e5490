// What the cost estimates of quiver's index access methods share.
#include "quiver/pg/am.h"

extern "C" {
#include "utils/selfuncs.h"
}

#include <cstring>

namespace quiver::pg {

Selectivity am_whole_index_costs(PlannerInfo *root, IndexPath *path, double loop_count,
                                 GenericCosts *costs)
{
    // genericcostestimate scales its costs by the index quals' selectivity, as for a btree that
    // reads only the matching range; a vector index reads its elements or lists whatever the
    // quals (they only decide which entries it keeps), so the costs come from a second
    // estimate without them.
    std::memset(costs, 0, sizeof *costs);
    genericcostestimate(root, path, loop_count, costs);
    const Selectivity quals_selectivity = costs->indexSelectivity;
    if (path->indexclauses != NIL) {
        IndexPath whole = *path;
        whole.indexclauses = NIL;
        std::memset(costs, 0, sizeof *costs);
        genericcostestimate(root, &whole, loop_count, costs);
    }
    return quals_selectivity;
}

}  // namespace quiver::pg
