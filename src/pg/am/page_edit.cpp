// Page edits shared by the index access methods (see quiver/pg/am.h).
#include "quiver/pg/am.h"

namespace quiver::pg {



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
