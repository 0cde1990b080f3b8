/* SPDX-License-Identifier: MIT */
/*
 * render: see render.h. Text marks matches "CONTAINER:" and context lines
 * "CONTAINER-" like grep; JSON without context passes a canonical record
 * line as it came (reply_record.canon) instead of formatting it again.
 * With color, the bytes the collector marks in "spans" are highlighted.
 */
#include "query/render.h"

#include "common/escape.h"
#include "query/output.h"
#include "query/template.h"
#include "query/xreply.h"

#define RENDER_MAX_SPANS 64     /* the collector's API_MAX_SPANS */

void
render_init(struct render *r, int is_json, int has_context, int color)
{
    r->is_json = is_json;
    r->has_context = has_context;
    r->color = color;
    r->n_groups = 0;
    r->is_raw = 0;
    r->is_raw_escaped = 0;
    r->tpl = NULL;
    r->widths = (struct output_widths){ 0, 0 };
}

int
render_break(struct render *r, struct buf *out)
{
    r->n_groups++;
    if (!r->has_context || r->is_json)
        return 0;
    return output_group_break(out, r->color);
}

static int
render_raw(const struct render *r, const struct logrec *rec,
           struct buf *out)
{
    size_t saved = out->len;
    int rc = r->is_raw_escaped
             ? escape_append(out, rec->msg, rec->msg_len, ESCAPE_KEEP_TAB)
             : buf_append(out, rec->msg, rec->msg_len);

    if (rc < 0 || buf_append(out, "\n", 1) < 0) {
        out->len = saved;
        return -1;
    }
    return 0;
}

int
render_record(struct render *r, const struct reply_record *rr,
              struct buf *out)
{
    int is_ctx = r->has_context && xreply_is_context(rr);

    if (r->has_context && r->n_groups == 0)
        r->n_groups = 1;            /* the first group has no break */
    if (r->is_json && r->has_context) {
        uint64_t g = xreply_group(rr);
        return output_record_json_group(out, &rr->rec,
                                        g > 0 ? g : r->n_groups, is_ctx);
    }
    if (r->is_json && rr->canon != NULL)
        return output_json_line(out, rr->canon, rr->canon_len);
    if (r->is_json)
        return output_record_json(out, &rr->rec);
    if (r->tpl != NULL)
        return template_render(r->tpl, rr, out);
    if (r->is_raw)
        return render_raw(r, &rr->rec, out);
    size_t spans[2 * RENDER_MAX_SPANS];
    size_t n = r->color ? xreply_spans(rr, spans, RENDER_MAX_SPANS) : 0;
    return output_record_text_cols(out, &rr->rec, r->color,
                                   !r->has_context ? 0 : is_ctx ? '-' : ':',
                                   spans, n, &r->widths);
}
