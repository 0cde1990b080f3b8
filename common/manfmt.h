/* SPDX-License-Identifier: MIT */
/*
 * manfmt: the text formatting every program's --help and --man share:
 * help paragraphs wrapped to a width under a hanging indent, and text
 * escaped for roff (man pages generated from the flag tables, so they
 * cannot drift from --help). Knows no program; writes to the FILE given.
 */
#ifndef COMMON_MANFMT_H
#define COMMON_MANFMT_H

#include <stdio.h>

/* Prints s word by word, each line at most width columns, continuation
 * lines indented by indent spaces; col is the column the cursor is at.
 * A '\n' in s breaks the line there. Ends with a newline. A word longer
 * than the room is printed whole. */
void manfmt_wrap(FILE *fp, const char *s, int col, int indent, int width);

/* Prints s escaped for roff: '\' as \e, '-' as \-, a '.' or '\'' at the
 * start of a line behind \&; a newline as a line break (.br). */
void manfmt_roff(FILE *fp, const char *s);

/* ".TH NAME SECTION", no hyphenation, left-adjusted, and the NAME
 * section: "name \- summary". */
void manfmt_man_head(FILE *fp, const char *name, const char *section,
                     const char *summary);

/* The value's name of a flag from its long name alone, when its type does
 * not tell: "DIR" for one ending in "dir" or "root", "FILE" for one naming
 * a file or starting with "tls-", else "VALUE". */
const char *manfmt_value_name(const char *long_name);

/* A .TP item for a flag: bold "--long" (and ", -s"), then " ARG" in
 * italics when arg is not NULL; the body is help as one paragraph. */
void manfmt_man_flag(FILE *fp, const char *long_name, char short_name,
                     const char *arg, const char *help);

#endif
