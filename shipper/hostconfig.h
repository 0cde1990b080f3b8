/* SPDX-License-Identifier: MIT */
/*
 * hostconfig: the one fact the shipper takes from a container's
 * hostconfig.json: json-file's max-file (LogConfig.Config["max-file"],
 * which Docker fills from the daemon's default log-opts when it creates
 * the container), so that tail_start can tell a container found with a
 * full rotation set, whose oldest files Docker may have deleted before the
 * shipper saw them (a possible loss), from one that has lost nothing.
 * The parser is pure (fuzz_hostconfig); the reader opens the file
 * relative to the container directory without following symlinks.
 */
#ifndef SHIPPER_HOSTCONFIG_H
#define SHIPPER_HOSTCONFIG_H

#include <stddef.h>

#define HOSTCONFIG_MAX_SIZE  (256u << 10)   /* larger files are refused */
#define HOSTCONFIG_MAX_FILES 1000000        /* a larger max-file is refused */

/*
 * *max_file from hostconfig.json text: its json-file max-file (1, Docker's
 * default, when absent). Returns 0, or -1 when the text is not JSON, the
 * log driver is not json-file, or max-file is not a decimal in
 * 1..HOSTCONFIG_MAX_FILES.
 */
int hostconfig_max_file_parse(const char *text, size_t len, int *max_file);

/* hostconfig_max_file_parse on <dfd>/hostconfig.json (a regular file of
 * at most HOSTCONFIG_MAX_SIZE bytes, opened with O_NOFOLLOW). -1 also when
 * it is missing, too large or cannot be read; HOSTCONFIG_REFUSED when it
 * is a symlink or not a regular file (nothing of it read). */
int hostconfig_max_file_read(int dfd, int *max_file);

#define HOSTCONFIG_REFUSED (-2)

#endif
