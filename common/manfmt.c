/* SPDX-License-Identifier: MIT */
/*
 * manfmt: see manfmt.h. Written by hand: a few lines of word wrapping and
 * roff escaping are smaller than any library for them.
 */
#include "common/manfmt.h"

#include <string.h>

void
manfmt_wrap(FILE *fp, const char *s, int col, int indent, int width)
{
    int is_line_start = 1;

    while (*s != '\0') {
        size_t n = strcspn(s, " \n");
        if (n == 0 && *s == '\n') {
            fprintf(fp, "\n%*s", indent, "");
            col = indent;
            is_line_start = 1;
        }
        if (n == 0) {
            s++;
            continue;
        }
        if (!is_line_start && col + 1 + (int)n > width) {
            fprintf(fp, "\n%*s", indent, "");
            col = indent;
            is_line_start = 1;
        }
        if (!is_line_start) {
            fputc(' ', fp);
            col++;
        }
        fwrite(s, 1, n, fp);
        col += (int)n;
        is_line_start = 0;
        s += n;
    }
    fputc('\n', fp);
}

void
manfmt_roff(FILE *fp, const char *s)
{
    int is_line_start = 1;

    for (; *s != '\0'; s++) {
        if (is_line_start && (*s == '.' || *s == '\''))
            fputs("\\&", fp);
        if (*s == '\\')
            fputs("\\e", fp);
        else if (*s == '\n')
            fputs("\n.br\n", fp);
        else if (*s == '-')
            fputs("\\-", fp);
        else
            fputc(*s, fp);
        is_line_start = *s == '\n';
    }
}

void
manfmt_man_head(FILE *fp, const char *name, const char *section,
                const char *summary)
{
    fputs(".TH ", fp);
    manfmt_roff(fp, name);
    /* no hyphenation, ragged right: a flag is never cut at a line end */
    fprintf(fp, " %s \"\" \"logq\" \"logq manual\"\n.nh\n.ad l\n"
            ".SH NAME\n", section);
    manfmt_roff(fp, name);
    fputs(" \\- ", fp);
    manfmt_roff(fp, summary);
    fputc('\n', fp);
}

void
manfmt_man_flag(FILE *fp, const char *long_name, char short_name,
                const char *arg, const char *help)
{
    fputs(".TP\n\\fB\\-\\-", fp);
    manfmt_roff(fp, long_name);
    fputs("\\fR", fp);
    if (short_name != 0)
        fprintf(fp, ", \\fB\\-%c\\fR", short_name);
    if (arg != NULL) {
        fputs(" \\fI", fp);
        manfmt_roff(fp, arg);
        fputs("\\fR", fp);
    }
    fputc('\n', fp);
    manfmt_roff(fp, help);
    fputc('\n', fp);
}

const char *
manfmt_value_name(const char *long_name)
{
    size_t n = strlen(long_name);

    if ((n >= 3 && strcmp(long_name + n - 3, "dir") == 0) ||
        (n >= 4 && strcmp(long_name + n - 4, "root") == 0))
        return "DIR";
    return strstr(long_name, "file") != NULL ||
           strncmp(long_name, "tls-", 4) == 0 ? "FILE" : "VALUE";
}
