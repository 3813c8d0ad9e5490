// Pause points for concurrency tests: named places in the index code where a backend can be
// made to wait, so a test can run another session's statement in between (what PostgreSQL 17
// calls injection points; PostgreSQL 15 has none).
//
// A superuser sets quiver.debug_pause_at to a point's name in the session to pause. When that
// session reaches the point, it waits for a shared advisory lock on QUIVER_PAUSE_LOCK_KEY
// (pg_advisory_lock_shared(20822)) and releases it at once: a test holding
// pg_advisory_lock(20822) in another session keeps it waiting there (the isolation tester sees
// the wait), and lets it go on with pg_advisory_unlock(20822). With the setting empty (the
// default) a pause point costs one comparison. The points are listed where they are used.
#pragma once

#include "quiver/pg/glue.h"

#define QUIVER_PAUSE_LOCK_KEY 20822  // 0x5156, "QV"

namespace quiver::pg {

void pause_init();  // defines quiver.debug_pause_at; called from _PG_init

extern char *debug_pause_at;
void pause_point_wait(const char *name);

// Waits at point `name` when quiver.debug_pause_at names it.
inline void pause_point(const char *name)
{
    if (debug_pause_at != nullptr && debug_pause_at[0] != '\0')
        pause_point_wait(name);
}

}  // namespace quiver::pg
