/* SPDX-License-Identifier: MIT */
/*
 * fuzz_fields: libFuzzer target for common/fields.c, the JSON and logfmt
 * field extraction from log messages (any container can write any bytes
 * into a message). The input is the message. Checked with assert against
 * two models written from fields.h, not from fields.c:
 * - JSON: jansson (a second parser). When it reads the message as one
 *   object (strict: no duplicate keys, valid UTF-8, no lone surrogate, no
 *   number it cannot hold, no raw NUL byte, which jansson would skip
 *   between tokens) nested at most FIELDS_MAX_DEPTH deep, fields
 *   must say JSON and give exactly its flattened leaves in order (names
 *   over FIELDS_MAX_NAME skipped, at most FIELDS_MAX_FIELDS, a cut value
 *   a FIELDS_MAX_VALUE prefix), numbers equal as doubles; deeper, plain
 *   text.
 * - logfmt: the model below (fuzz_logfmt_model) gives the kind and every
 *   KEY=VALUE with the value decoded; fields must agree on both whenever
 *   the message does not start with '{'.
 * And for every message: plain text calls nothing; each field's type,
 * lengths and cut flag are consistent; a callback that stops after the
 * first field gets exactly one call; fields_get finds the first value of
 * each name given and nothing for a name not given; the one-pass
 * fields_foreach_fast gives the same kind and fields whenever the message
 * is structured; and the store's index (tokenize_fields) holds the field
 * token of every field, so a field:value search never misses a message.
 * The index's own walks over the message are checked too: the ASCII fast
 * path of tokenize_foreach_ex gives exactly the tokens (hash, check,
 * spellings) of its byte-at-a-time reference, and tokenize_fields_ex
 * the hashes of tokenize_fields with no spellings.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "collector/store/tokenize.h"
#include "common/fields.h"
#include "common/xmalloc.h"
#include "tests/support/utf8_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One expected field. Strings borrowed from the model's storage. */
struct fuzz_field {
    char             name[FIELDS_MAX_NAME];
    size_t           name_len;
    const char      *val;
    size_t           val_len;
    enum fields_type type;
    double           num;
};

struct fuzz_model {
    enum fields_kind  kind;
    int               is_known;     /* the model has an answer */
    size_t            n;
    struct fuzz_field f[FIELDS_MAX_FIELDS];
};

static int
fuzz_is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A logfmt key or bare value byte: no control byte, space, '=' or '"'. */
static int
fuzz_is_word(uint8_t c)
{
    return c > 0x20 && c != 0x7f && c != '=' && c != '"';
}

/* ---- the JSON model (jansson) ---- */

static int
fuzz_json_depth(const json_t *j)
{
    int d = 0;

    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            int e = fuzz_json_depth(v);
            d = e > d ? e : d;
        }
        return d + 1;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            int e = fuzz_json_depth(v);
            d = e > d ? e : d;
        }
        return d + 1;
    }
    return 0;
}

/* Appends the leaves of j, named name[0..len) (len > FIELDS_MAX_NAME:
 * too long, skipped). */
static void
fuzz_json_leaves(const json_t *j, const char *name, size_t len,
                 struct fuzz_model *m)
{
    if (json_is_object(j)) {
        const char *k;
        size_t kl;
        json_t *v;
        json_object_keylen_foreach((json_t *)j, k, kl, v) {
            char sub[FIELDS_MAX_NAME];
            size_t at = len > 0 ? len + 1 : 0, sl = at + kl;
            if (len <= FIELDS_MAX_NAME && sl <= FIELDS_MAX_NAME) {
                memcpy(sub, name, len);
                if (len > 0)
                    sub[len] = '.';
                memcpy(sub + at, k, kl);
            }
            fuzz_json_leaves(v, sub, sl, m);
        }
        return;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
            fuzz_json_leaves(v, name, len, m);
        return;
    }
    if (len > FIELDS_MAX_NAME || m->n == FIELDS_MAX_FIELDS)
        return;
    struct fuzz_field *f = &m->f[m->n++];
    memcpy(f->name, name, len);
    f->name_len = len;
    f->val = NULL;
    f->val_len = 0;
    if (json_is_string(j)) {
        f->type = FIELDS_STRING;
        f->val = json_string_value(j);
        f->val_len = json_string_length(j);
    } else if (json_is_number(j)) {
        f->type = FIELDS_NUMBER;
        f->num = json_number_value(j);
    } else if (json_is_boolean(j)) {
        f->type = FIELDS_BOOL;
        f->val = json_is_true(j) ? "true" : "false";
        f->val_len = strlen(f->val);
    } else {
        f->type = FIELDS_NULL;
        f->val = "null";
        f->val_len = 4;
    }
}

/* ---- the logfmt model ---- */

static int
fuzz_hex4(const uint8_t *p, size_t left, uint32_t *v)
{
    *v = 0;
    if (left < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (uint32_t)d;
    }
    return 0;
}

/* The escape at p[0..left) (past the backslash) decoded to out: bytes
 * read, 0 if the syntax has no such escape. */
static size_t
fuzz_escape(const uint8_t *p, size_t left, char *out, size_t *o)
{
    static const char from[] = "\"\\/nrtbfav", to[] = "\"\\/\n\r\t\b\f\a\v";
    uint32_t hi, lo;
    uint8_t u[4];

    if (left == 0)
        return 0;
    const char *k = memchr(from, p[0], sizeof(from) - 1);
    if (k != NULL && p[0] != '\0') {
        out[(*o)++] = to[k - from];
        return 1;
    }
    if (p[0] == 'x') {
        uint32_t v;
        uint8_t h[4] = { '0', '0', 0, 0 };
        if (left < 3)
            return 0;
        memcpy(h + 2, p + 1, 2);
        if (fuzz_hex4(h, 4, &v) < 0)
            return 0;
        out[(*o)++] = (char)v;
        return 3;
    }
    if (p[0] != 'u' || fuzz_hex4(p + 1, left - 1, &hi) < 0)
        return 0;
    size_t used = 5;
    uint32_t cp = hi;
    if (hi >= 0xd800 && hi <= 0xdbff && left >= 11 && p[5] == '\\' &&
        p[6] == 'u' && fuzz_hex4(p + 7, left - 7, &lo) == 0 &&
        lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
        used = 11;
    } else if (hi >= 0xd800 && hi <= 0xdfff) {
        cp = 0xfffd;
    }
    size_t n = utf8_model_encode(cp, u);
    memcpy(out + *o, u, n);
    *o += n;
    return used;
}

/* A quoted value at p[*i] == '"': decoded into store at *o (val, vlen);
 * -1 when an escape is unknown or the quote is not closed. */
static int
fuzz_quoted(const uint8_t *p, size_t len, size_t *i, char *store, size_t *o,
            const char **val, size_t *vlen)
{
    size_t at = *o;

    for (size_t k = *i + 1; k < len; k++) {
        if (p[k] == '"') {
            *val = store + at;
            *vlen = *o - at;
            *i = k + 1;
            return 0;
        }
        if (p[k] != '\\') {
            store[(*o)++] = (char)p[k];
            continue;
        }
        size_t used = fuzz_escape(p + k + 1, len - k - 1, store, o);
        if (used == 0)
            return -1;
        k += used;
    }
    return -1;
}

/* One KEY=VALUE at p[*i]: appended to m (up to the cap); -1 if not one. */
static int
fuzz_pair(const uint8_t *p, size_t len, size_t *i, char *store, size_t *o,
          struct fuzz_model *m)
{
    size_t k = *i;
    const char *val;
    size_t vlen;

    while (k < len && fuzz_is_word(p[k]))
        k++;
    size_t klen = k - *i;
    if (klen == 0 || klen > FIELDS_MAX_NAME || k == len || p[k] != '=')
        return -1;
    const uint8_t *key = p + *i;
    *i = k + 1;
    if (*i < len && p[*i] == '"') {
        if (fuzz_quoted(p, len, i, store, o, &val, &vlen) < 0)
            return -1;
    } else {
        size_t s = *i;
        while (*i < len && fuzz_is_word(p[*i]))
            (*i)++;
        if (*i < len && !fuzz_is_blank(p[*i]))
            return -1;
        val = (const char *)p + s;
        vlen = *i - s;
    }
    if (m->n < FIELDS_MAX_FIELDS) {
        struct fuzz_field *f = &m->f[m->n++];
        memcpy(f->name, key, klen);
        f->name_len = klen;
        f->val = val;
        f->val_len = vlen;
        f->type = FIELDS_STRING;
    }
    return 0;
}

/* The kind of p[0..len) by fields.h's logfmt rules (pairs separated by
 * spaces or tabs, leading spaces or tabs, trailing blanks), m filled. */
static enum fields_kind
fuzz_logfmt_model(const uint8_t *p, size_t len, char *store,
                  struct fuzz_model *m)
{
    size_t i = 0, o = 0;

    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == len)
        return FIELDS_NONE;
    for (;;) {
        if (fuzz_pair(p, len, &i, store, &o, m) < 0)
            return FIELDS_NONE;
        size_t s = i;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i == len)
            return FIELDS_LOGFMT;
        if (p[i] == '\r' || p[i] == '\n') {
            while (i < len && fuzz_is_blank(p[i]))
                i++;
            return i == len ? FIELDS_LOGFMT : FIELDS_NONE;
        }
        if (i == s)
            return FIELDS_NONE;     /* no separator after a quoted value */
    }
}

/* ---- checks ---- */

struct fuzz_walk {
    const struct fuzz_model *m;
    enum fields_kind         kind;      /* what fields_foreach returns */
    size_t                   n;
};

/* What holds of any field, model or not. */
static void
fuzz_check_field(const struct fields_field *f, enum fields_kind kind)
{
    double d;

    assert(f->name_len <= FIELDS_MAX_NAME);
    assert(kind == FIELDS_JSON || (f->name_len > 0 &&
                                   f->type == FIELDS_STRING));
    assert(!f->is_cut || f->value_len == FIELDS_MAX_VALUE);
    if (f->type == FIELDS_NUMBER)
        assert(f->value_len > FIELDS_MAX_NUMBER ||
               fields_number(f->value, f->value_len, &d) == 0);
    if (f->type == FIELDS_BOOL)
        assert((f->value_len == 4 && !memcmp(f->value, "true", 4)) ||
               (f->value_len == 5 && !memcmp(f->value, "false", 5)));
    if (f->type == FIELDS_NULL)
        assert(f->value_len == 4 && !memcmp(f->value, "null", 4));
}

static void
fuzz_check_value(const struct fields_field *f, const struct fuzz_field *w)
{
    assert(f->type == w->type);
    if (f->type == FIELDS_NUMBER) {
        char *s = xmemdup(f->value, f->value_len + 1);
        s[f->value_len] = '\0';
        assert(strtod(s, NULL) == w->num);
        free(s);
        return;
    }
    if (f->is_cut)
        assert(w->val_len > FIELDS_MAX_VALUE);
    else
        assert(f->value_len == w->val_len);
    assert(memcmp(f->value, w->val, f->value_len) == 0);
}

static int
fuzz_walk_cb(const struct fields_field *f, void *arg)
{
    struct fuzz_walk *w = arg;

    assert(w->kind != FIELDS_NONE);
    fuzz_check_field(f, w->kind);
    if (w->m != NULL && w->m->is_known) {
        assert(w->n < w->m->n);
        const struct fuzz_field *want = &w->m->f[w->n];
        assert(f->name_len == want->name_len &&
               memcmp(f->name, want->name, f->name_len) == 0);
        fuzz_check_value(f, want);
    }
    w->n++;
    assert(w->n <= FIELDS_MAX_FIELDS);
    return 0;
}

/* Stops the walk at the first field. */
static int
fuzz_stop_cb(const struct fields_field *f, void *arg)
{
    size_t *n = arg;

    (void)f;
    (*n)++;
    return 1;
}

/* fields_get of each model name: its first value; of a name not there: 0. */
static void
fuzz_check_get(const char *msg, size_t len, const struct fuzz_model *m)
{
    static char absent[FIELDS_MAX_NAME + 1];   /* longer than any name */
    char out[64];
    size_t out_len;

    for (size_t i = 0; i < m->n && i < 8; i++) {
        const struct fuzz_field *f = &m->f[i];
        size_t first = 0;
        while (first < i && (m->f[first].name_len != f->name_len ||
                             memcmp(m->f[first].name, f->name,
                                    f->name_len) != 0))
            first++;
        assert(fields_get(msg, len, f->name, f->name_len, out, sizeof(out),
                          &out_len) == 1);
        assert(out_len <= sizeof(out));
        if (m->f[first].type != FIELDS_NUMBER)
            assert(memcmp(out, m->f[first].val, out_len) == 0);
    }
    memset(absent, 'z', sizeof(absent));
    assert(fields_get(msg, len, absent, sizeof(absent), out, sizeof(out),
                      &out_len) == 0 && out_len == 0);
}

/* The fields of the two-pass walk, kept to compare the fast pass and the
 * index tokens with (names and the first bytes of values). */
struct fuzz_seen {
    size_t   n;
    char     name[FIELDS_MAX_FIELDS][FIELDS_MAX_NAME];
    size_t   name_len[FIELDS_MAX_FIELDS];
    uint32_t hash[FIELDS_MAX_FIELDS];       /* of the field token */
    size_t   i;                             /* fast pass: next to match */
    int      is_same;
};

static int
fuzz_seen_cb(const struct fields_field *f, void *arg)
{
    struct fuzz_seen *s = arg;
    uint8_t tok[TOKENIZE_MAX_LEN];

    memcpy(s->name[s->n], f->name, f->name_len);
    s->name_len[s->n] = f->name_len;
    size_t n = tokenize_field(f->name, f->name_len, f->value, f->value_len,
                              tok);
    assert(n > 0 && n <= TOKENIZE_MAX_LEN);
    s->hash[s->n++] = tokenize_hash(tok, n);
    return 0;
}

static int
fuzz_fast_cb(const struct fields_field *f, void *arg)
{
    struct fuzz_seen *s = arg;

    if (s->i >= s->n || f->name_len != s->name_len[s->i] ||
        memcmp(f->name, s->name[s->i], f->name_len) != 0)
        s->is_same = 0;
    s->i++;
    return 0;
}

/* Clears the hashes the index gives from the walk's list. */
static int
fuzz_token_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct fuzz_seen *s = arg;

    assert(len > 0 && len <= TOKENIZE_MAX_LEN);
    assert(hash == tokenize_hash(tok, len));
    for (size_t i = 0; i < s->n; i++)
        if (s->hash[i] == hash)
            s->hash[i] = 0;                 /* tokenize_hash is never 0 */
    return 0;
}

static void
fuzz_check_fast_and_index(const char *msg, size_t len, enum fields_kind kind)
{
    static struct fuzz_seen s;

    s.n = 0;
    s.i = 0;
    s.is_same = 1;
    assert(fields_foreach(msg, len, fuzz_seen_cb, &s) == kind);
    enum fields_kind fast = fields_foreach_fast(msg, len, fuzz_fast_cb, &s);
    if (kind != FIELDS_NONE)
        assert(fast == kind && s.is_same && s.i == s.n);
    else
        assert(fast == FIELDS_NONE);
    assert(tokenize_fields(msg, len, fuzz_token_cb, &s) == 0);
    for (size_t i = 0; i < s.n; i++)
        assert(s.hash[i] == 0);             /* every field's token */
}

/* Tokens as the index's counting sees them (tokenize_ex_fn). A message
 * of at most 65536 bytes has at most that many word tokens. */
struct fuzz_ex {
    uint32_t hash[65536], check[65536];
    unsigned forms[65536];
    size_t   n;
};

static int
fuzz_ex_cb(uint32_t hash, uint32_t check, unsigned forms, void *arg)
{
    struct fuzz_ex *e = arg;

    assert(e->n < 65536 && forms <= TOKENIZE_FORMS);
    e->hash[e->n] = hash;
    e->check[e->n] = check;
    e->forms[e->n++] = forms;
    return 0;
}

static int
fuzz_field_hash_cb(const uint8_t *tok, size_t len, uint32_t hash, void *arg)
{
    struct fuzz_ex *e = arg;

    (void)tok;
    (void)len;
    assert(e->n < 65536);
    e->hash[e->n++] = hash;
    return 0;
}

static void
fuzz_check_index_walks(const char *msg, size_t len)
{
    static struct fuzz_ex a, b;

    a.n = b.n = 0;
    assert(tokenize_foreach_ex(msg, len, fuzz_ex_cb, &a) == 0);
    assert(tokenize_foreach_ex_ref(msg, len, fuzz_ex_cb, &b) == 0);
    assert(a.n == b.n);
    for (size_t i = 0; i < a.n; i++)
        assert(a.hash[i] == b.hash[i] && a.check[i] == b.check[i] &&
               a.forms[i] == b.forms[i]);
    a.n = b.n = 0;
    assert(tokenize_fields_ex(msg, len, fuzz_ex_cb, &a) == 0);
    assert(tokenize_fields(msg, len, fuzz_field_hash_cb, &b) == 0);
    assert(a.n == b.n);
    for (size_t i = 0; i < a.n; i++)
        assert(a.hash[i] == b.hash[i] && a.forms[i] == 0);
}

/* The JSON model's answer for msg, or is_known 0 when jansson refuses it
 * (then only the invariants are checked). */
static json_t *
fuzz_json_model(const char *msg, size_t len, struct fuzz_model *m)
{
    json_error_t e;

    /* jansson skips a raw NUL byte between tokens, which RFC 8259 (and
     * fields.c) refuses: no answer for such input. */
    if (memchr(msg, '\0', len) != NULL)
        return NULL;
    json_t *j = json_loadb(msg, len, JSON_REJECT_DUPLICATES |
                           JSON_ALLOW_NUL, &e);

    if (j == NULL || !json_is_object(j))
        return j;
    m->is_known = 1;
    if (fuzz_json_depth(j) > FIELDS_MAX_DEPTH) {
        m->kind = FIELDS_NONE;
        return j;
    }
    m->kind = FIELDS_JSON;
    fuzz_json_leaves(j, "", 0, m);
    return j;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_model m;
    const char *msg = (const char *)data;
    size_t i = 0;
    json_t *j = NULL;
    char *store = NULL;

    if (size > 65536)
        return 0;
    memset(&m, 0, sizeof(m));
    while (i < size && fuzz_is_blank(data[i]))
        i++;
    if (i < size && data[i] == '{') {
        j = fuzz_json_model(msg, size, &m);
    } else {
        store = xmalloc(size + 1);
        m.kind = fuzz_logfmt_model(data, size, store, &m);
        m.is_known = 1;
    }
    fuzz_check_index_walks(msg, size);
    size_t n_first = 0;
    enum fields_kind kind = fields_foreach(msg, size, fuzz_stop_cb, &n_first);
    struct fuzz_walk w = { &m, kind, 0 };
    assert(fields_foreach(msg, size, fuzz_walk_cb, &w) == kind);
    assert(n_first == (w.n > 0 ? 1u : 0u));
    if (m.is_known) {
        assert(kind == m.kind);
        assert(w.n == (kind == FIELDS_NONE ? 0 : m.n));
        if (kind != FIELDS_NONE)
            fuzz_check_get(msg, size, &m);
    }
    fuzz_check_fast_and_index(msg, size, kind);
    if (i < size && data[i] == '{')
        assert(kind != FIELDS_LOGFMT);  /* invalid JSON is plain text */
    else
        assert(kind != FIELDS_JSON);
    json_decref(j);
    free(store);
    return 0;
}
