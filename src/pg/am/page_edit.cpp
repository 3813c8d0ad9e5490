// New pages and page edits shared by the index access methods (see quiver/pg/am.h).
#include "quiver/pg/am.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/rel.h"
}

namespace quiver::pg {

Buffer am_new_buffer(Relation index, ForkNumber fork)
{
    const bool need_lock = !RELATION_IS_LOCAL(index);
    if (need_lock)
        LockRelationForExtension(index, ExclusiveLock);
    Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    if (need_lock)
        UnlockRelationForExtension(index, ExclusiveLock);
    return buf;
}

void am_edit_start(AmPageEdit *edit, Relation index, bool wal)
{
    edit->wal = wal;
    edit->count = 0;
    edit->state = wal ? GenericXLogStart(index) : nullptr;
}

Page am_edit_page(AmPageEdit *edit, Buffer buffer, bool full_image)
{
    Assert(edit->count < MAX_GENERIC_XLOG_PAGES);
    edit->buffers[edit->count++] = buffer;
    if (edit->wal)
        return GenericXLogRegisterBuffer(edit->state, buffer, full_image ? GENERIC_XLOG_FULL_IMAGE : 0);
    return BufferGetPage(buffer);
}

void am_edit_finish(AmPageEdit *edit)
{
    if (edit->wal) {
        GenericXLogFinish(edit->state);
    } else {
        for (int i = 0; i < edit->count; ++i)
            MarkBufferDirty(edit->buffers[i]);
    }
    edit->count = 0;
    edit->state = nullptr;
}

void am_edit_abort(AmPageEdit *edit)
{
    if (edit->wal && edit->state != nullptr)
        GenericXLogAbort(edit->state);
    edit->count = 0;
    edit->state = nullptr;
}

}  // namespace quiver::pg
