/* SPDX-License-Identifier: MIT */
/*
 * fuzz_template: libFuzzer target for logq --format (query/template.c):
 * the template is a command-line (or saved query's) text, the record it
 * renders comes from the collector (a hostile collector or a man in the
 * middle). The input is the template, a NUL byte, then one /logs record
 * line (a fixed record when there is no NUL). Invariants checked with
 * assert: parsing twice gives the same answer, a refusal gives a one-line
 * error without control characters; a rendered line ends with its only unescaped newline and
 * rendering twice gives the same bytes; into a small buffer it is either
 * the same line or refused with the buffer unchanged; and when the
 * template is printable ASCII without backslashes or braces' escapes of
 * its own, the line is valid UTF-8 with no control character but tabs
 * (every record value escaped, so a record cannot drive the terminal).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "query/reply.h"
#include "query/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_TEMPLATE 4096

static const char fuzz_default_record[] =
    "{\"time\":\"2026-11-27T13:50:40.123456789Z\",\"host\":\"node1\","
    "\"container\":\"web\",\"container_id\":\"c1\",\"image\":\"busybox\","
    "\"stream\":\"stderr\",\"message\":\"{\\\"x\\\":\\\"a\\u001b[2Jb\\\","
    "\\\"k\\\":\\\"\\u009b\\\"}\",\"labels\":{\"app\":\"shop\"}}";

/* Printable ASCII without a backslash: the template adds no control
 * character of its own. */
static int
fuzz_is_plain_template(const char *t)
{
    for (; *t != '\0'; t++)
        if (*t < 0x20 || *t > 0x7e || *t == '\\')
            return 0;
    return 1;
}

/* p[0..n) is valid UTF-8 without C0 (but tab), DEL or C1. */
static int
fuzz_is_safe_line(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t bad, k = utf8_decode(p + i, n - i, &cp, &bad);
        if (k == 0 || (cp < 0x20 && cp != '\t') || cp == 0x7f ||
            (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += k;
    }
    return 1;
}

static void
fuzz_render(const struct template *t, const char *line, size_t len,
            int is_plain)
{
    struct reply_record rr;
    char err[256];

    if (reply_record_parse(line, len, &rr, err, sizeof(err)) < 0)
        return;
    struct buf a, b, small;
    buf_init(&a, 1 << 22);
    buf_init(&b, 1 << 22);
    buf_init(&small, 64);
    assert(buf_append(&b, "x", 1) == 0);
    int ra = template_render(t, &rr, &a);
    int rb = template_render(t, &rr, &b);
    assert(ra == rb);
    if (ra == 0) {
        assert(a.len >= 1 && a.data[a.len - 1] == '\n');
        assert(b.len == a.len + 1 && memcmp(b.data + 1, a.data, a.len) == 0);
        if (is_plain) {
            assert(memchr(a.data, '\n', a.len - 1) == NULL);
            assert(fuzz_is_safe_line(a.data, a.len - 1));
        }
    } else {
        assert(a.len == 0 && b.len == 1);
    }
    int rs = template_render(t, &rr, &small);
    if (rs == 0)
        assert(ra == 0 && small.len == a.len &&
               memcmp(small.data, a.data, a.len) == 0);
    else
        assert(small.len == 0 && (ra < 0 || a.len > 64));
    buf_fini(&a);
    buf_fini(&b);
    buf_fini(&small);
    reply_record_fini(&rr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t tlen = nul != NULL ? (size_t)(nul - data) : size;

    if (tlen > FUZZ_MAX_TEMPLATE)
        return 0;
    char *text = xstrndup((const char *)data, tlen);
    char err1[256] = "", err2[256] = "";
    struct template *t1 = template_parse(text, err1, sizeof(err1));
    struct template *t2 = template_parse(text, err2, sizeof(err2));
    assert((t1 == NULL) == (t2 == NULL));
    if (t1 == NULL) {
        assert(err1[0] != '\0' && strcmp(err1, err2) == 0);
        for (const char *e = err1; *e != '\0'; e++)
            assert((unsigned char)*e >= 0x20 && *e != 0x7f);  /* escaped */
    } else if (nul != NULL) {
        fuzz_render(t1, (const char *)nul + 1, size - tlen - 1,
                    fuzz_is_plain_template(text));
    } else {
        fuzz_render(t1, fuzz_default_record, strlen(fuzz_default_record),
                    fuzz_is_plain_template(text));
    }
    template_free(t1);
    template_free(t2);
    free(text);
    return 0;
}
