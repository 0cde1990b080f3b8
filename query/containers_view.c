/* SPDX-License-Identifier: MIT */
/*
 * containers_view: see containers_view.h. A container is matched to its
 * metrics by host and name (the metrics name containers as the shipper
 * does, by name); a linear search per row (the lists are bounded by the
 * collector's reply cap). A name on several rows (a container recreated
 * under its name: a new id) gives the metrics to the row seen last.
 */
#include "query/containers_view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "query/health.h"
#include "query/output.h"
#include "query/reply.h"

const char *
containers_view_state(const char *api_state)
{
    if (api_state != NULL && strcmp(api_state, "stopped") == 0)
        return "exited";
    return api_state;
}

/* h's entry for host/container with a state, or NULL. */
static const struct health_container *
cv_find(const struct health_reply *h, const char *host,
        const char *container)
{
    for (size_t i = 0; h != NULL && i < h->n_containers; i++) {
        const struct health_container *c = &h->containers[i];
        if (c->state[0] != '\0' && strcmp(c->host, host) == 0 &&
            strcmp(c->container, container) == 0)
            return c;
    }
    return NULL;
}

/* Whether another row of l has item i's host and name and was seen
 * later (or at the same time and comes first): i is then not the
 * container the name's metrics are about. */
static int
cv_is_superseded(const struct reply_list *l, size_t i)
{
    const struct reply_item *it = &l->items[i];

    for (size_t k = 0; k < l->n_items; k++) {
        const struct reply_item *o = &l->items[k];
        if (k == i || strcmp(o->host, it->host) != 0 ||
            strcmp(o->container, it->container) != 0)
            continue;
        if (o->last_seen_ns > it->last_seen_ns ||
            (o->last_seen_ns == it->last_seen_ns && k < i))
            return 1;
    }
    return 0;
}

static int
cv_json(struct buf *out, const struct reply_list *l, size_t i,
        const struct health_container *hc)
{
    json_t *o = json_copy(json_array_get(l->root, i));

    if (o == NULL)
        return -1;
    json_object_set_new(o, "state", hc != NULL ?
                        json_string(containers_view_state(hc->state)) :
                        json_null());
    json_object_set_new(o, "restarts", hc != NULL && hc->restarts >= 0 ?
                        json_integer((json_int_t)hc->restarts) : json_null());
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s == NULL)
        return -1;
    int rc = buf_append(out, s, strlen(s));
    free(s);
    return rc < 0 ? -1 : buf_append(out, "\n", 1);
}

static void
cv_row(struct output_table *t, const struct reply_item *it,
       const struct health_container *hc, int64_t now)
{
    char id[13], n_lines[24], age[48], restarts[24] = "-";

    snprintf(id, sizeof(id), "%s", it->container_id);  /* short id */
    snprintf(n_lines, sizeof(n_lines), "%" PRId64, it->n_lines);
    if (hc != NULL && hc->restarts >= 0)
        snprintf(restarts, sizeof(restarts), "%" PRId64, hc->restarts);
    output_age_format(now, it->last_seen_ns, age, sizeof(age));
    const char *row[] = {
        it->host, it->container, id, it->image,
        hc != NULL ? containers_view_state(hc->state) : "-", restarts,
        n_lines, age,
    };
    output_table_add(t, row);
}

int
containers_view_render(struct buf *out, const struct reply_list *l,
                       const size_t *order, size_t n,
                       const struct health_reply *h, int64_t now,
                       int is_json)
{
    static const char *const head[] = { "HOST", "CONTAINER", "ID", "IMAGE",
                                        "STATE", "RESTARTS", "LINES",
                                        "LAST SEEN" };
    struct output_table t;
    int rc = 0;

    output_table_init(&t, 8, 0x20 | 0x40);
    output_table_add(&t, head);
    for (size_t k = 0; k < n && rc == 0; k++) {
        const struct reply_item *it = &l->items[order[k]];
        const struct health_container *hc =
            cv_is_superseded(l, order[k]) ? NULL
                                          : cv_find(h, it->host,
                                                    it->container);
        if (is_json)
            rc = cv_json(out, l, order[k], hc);
        else
            cv_row(&t, it, hc, now);
    }
    if (rc == 0 && !is_json)
        rc = output_table_format(&t, out);
    output_table_fini(&t);
    return rc;
}
