/* SPDX-License-Identifier: MIT */
/*
 * hostmetrics_test: the /proc parsers on strings: real-looking files, old
 * kernels' shorter lines, truncated lines, garbage and overflowing numbers,
 * missing fields, no trailing newline, and the CPU percentage arithmetic
 * (exact figures, counters going backwards, no tick passed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "shipper/hostmetrics.h"

#define S(x) x, strlen(x)

static void
test_hostmetrics_u64(void **state)
{
    uint64_t v = 7;

    assert_int_equal(hostmetrics_u64_parse(S("0"), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(hostmetrics_u64_parse(S("18446744073709551615"), &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(hostmetrics_u64_parse(S("18446744073709551616"), &v), -1);
    assert_int_equal(hostmetrics_u64_parse(S("99999999999999999999999"), &v),
                     -1);
    assert_int_equal(hostmetrics_u64_parse(S(""), &v), -1);
    assert_int_equal(hostmetrics_u64_parse(S("-1"), &v), -1);
    assert_int_equal(hostmetrics_u64_parse(S("12a"), &v), -1);
    assert_int_equal(hostmetrics_u64_parse(S(" 1"), &v), -1);
    assert_int_equal(v, 7);
    /* Only len bytes are looked at. */
    assert_int_equal(hostmetrics_u64_parse("123xyz", 3, &v), 0);
    assert_int_equal(v, 123);
}

static void
test_hostmetrics_stat_full(void **state)
{
    const char *t = "cpu  91913 5 21868 102150 2172 1 564 2133 7 0\n"
                    "cpu0 43622 0 10072 55294 337 0 51 987 0 0\n"
                    "intr 1 2 3\n";
    struct hostmetrics_cpu c;

    assert_int_equal(hostmetrics_stat_parse(S(t), &c), 0);
    assert_true(c.user == 91913 && c.nice == 5 && c.system == 21868);
    assert_true(c.idle == 102150 && c.iowait == 2172 && c.irq == 1);
    assert_true(c.softirq == 564 && c.steal == 2133);
}

static void
test_hostmetrics_stat_old_kernel(void **state)
{
    /* 2.4-era: user nice system idle only; later fields are 0. */
    const char *t = "cpu 10 20 30 40";
    struct hostmetrics_cpu c;

    assert_int_equal(hostmetrics_stat_parse(S(t), &c), 0);
    assert_true(c.user == 10 && c.idle == 40 && c.iowait == 0 &&
                c.steal == 0);
}

static void
test_hostmetrics_stat_bad(void **state)
{
    struct hostmetrics_cpu c;

    assert_int_equal(hostmetrics_stat_parse(S(""), &c), -1);
    assert_int_equal(hostmetrics_stat_parse(S("cpu0 1 2 3 4\n"), &c), -1);
    assert_int_equal(hostmetrics_stat_parse(S("cpu  1 2 3\n"), &c), -1);
    assert_int_equal(hostmetrics_stat_parse(S("cpu  1 2 x 4 5\n"), &c), -1);
    assert_int_equal(hostmetrics_stat_parse(
                         S("cpu  1 2 3 99999999999999999999999 5\n"), &c),
                     -1);
    /* Truncated in the middle of the line: 2 numbers only. */
    assert_int_equal(hostmetrics_stat_parse("cpu  100 200 300 400", 12, &c),
                     -1);
}

static void
test_hostmetrics_cpu_pct_exact(void **state)
{
    struct hostmetrics_cpu a = { 1000, 0, 500, 8000, 300, 0, 100, 100 };
    struct hostmetrics_cpu b = { 1250, 0, 600, 8500, 350, 0, 150, 150 };
    struct hostmetrics_cpu_pct p;

    assert_int_equal(hostmetrics_cpu_pct(&a, &b, &p), 0);
    assert_float_equal(p.user, 25.0, 1e-9);
    assert_float_equal(p.system, 15.0, 1e-9);
    assert_float_equal(p.iowait, 5.0, 1e-9);
    assert_float_equal(p.steal, 5.0, 1e-9);
}

static void
test_hostmetrics_cpu_pct_refused(void **state)
{
    struct hostmetrics_cpu a = { 1000, 0, 500, 8000, 300, 0, 100, 100 };
    struct hostmetrics_cpu b = a;
    struct hostmetrics_cpu_pct p = { -1, -1, -1, -1 };

    assert_int_equal(hostmetrics_cpu_pct(&a, &b, &p), -1);   /* no tick */
    b.idle += 100;
    b.user -= 1;                                             /* backwards */
    assert_int_equal(hostmetrics_cpu_pct(&a, &b, &p), -1);
    struct hostmetrics_cpu huge = { UINT64_MAX, 1, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(hostmetrics_cpu_pct(&a, &huge, &p), -1); /* overflow */
    assert_float_equal(p.user, -1, 0);
}

static void
test_hostmetrics_loadavg(void **state)
{
    double l[3] = { -1, -1, -1 };

    assert_int_equal(hostmetrics_loadavg_parse(S("7.78 4.26 2.00 10/190 9"),
                                               l), 0);
    assert_float_equal(l[0], 7.78, 1e-9);
    assert_float_equal(l[2], 2.0, 1e-9);
    assert_int_equal(hostmetrics_loadavg_parse(S("1.0 2.0\n"), l), -1);
    assert_int_equal(hostmetrics_loadavg_parse(S("1.0 nan 2.0\n"), l), -1);
    assert_int_equal(hostmetrics_loadavg_parse(S("1.0 -2 2.0\n"), l), -1);
    assert_int_equal(hostmetrics_loadavg_parse(S("1e308 1 1\n"), l), -1);
    assert_int_equal(hostmetrics_loadavg_parse(S(""), l), -1);
    assert_float_equal(l[0], 7.78, 1e-9);
}

static void
test_hostmetrics_meminfo(void **state)
{
    const char *t = "MemTotal:       24683652 kB\nMemFree:  5 kB\n"
                    "MemAvailable:    7507412 kB\nSwapTotal: 100 kB\n"
                    "SwapFree: 40 kB\nHugePages_Total:       0\n";
    struct hostmetrics_mem m;

    assert_int_equal(hostmetrics_meminfo_parse(S(t), &m), 0);
    assert_true(m.total == 24683652ull * 1024);
    assert_true(m.available == 7507412ull * 1024);
    assert_true(m.swap_total == 102400 && m.swap_free == 40960);
}

static void
test_hostmetrics_meminfo_bad(void **state)
{
    struct hostmetrics_mem m;

    /* MemAvailable missing (pre-3.14 kernels). */
    assert_int_equal(hostmetrics_meminfo_parse(S("MemTotal: 5 kB\n"), &m), -1);
    assert_int_equal(hostmetrics_meminfo_parse(
                         S("MemTotal: 5 kB\nMemAvailable: x kB\n"), &m), -1);
    assert_int_equal(hostmetrics_meminfo_parse(
                         S("MemTotal: 5 kB\nMemAvailable: 4 MB\n"), &m), -1);
    assert_int_equal(hostmetrics_meminfo_parse(
                         S("MemTotal: 18446744073709551615 kB\n"
                           "MemAvailable: 1 kB\n"), &m), -1);
    assert_int_equal(hostmetrics_meminfo_parse(
                         S("MemTotal: 0 kB\nMemAvailable: 0 kB\n"), &m), -1);
    /* Truncated after the number. */
    assert_int_equal(hostmetrics_meminfo_parse(
                         S("MemTotal: 5 kB\nMemAvailable: 4"), &m), -1);
}

static void
test_hostmetrics_uptime(void **state)
{
    double u;

    assert_int_equal(hostmetrics_uptime_parse(S("1105.82 1021.50\n"), &u), 0);
    assert_float_equal(u, 1105.82, 1e-9);
    assert_int_equal(hostmetrics_uptime_parse(S("\n"), &u), -1);
    assert_int_equal(hostmetrics_uptime_parse(S("12,5 1\n"), &u), -1);
}

static void
test_hostmetrics_mounts(void **state)
{
    const char *t = "/dev/vda / ext4 rw 0 0\n\n"
                    "/dev/vdb /data\\040dir xfs rw 0 0\n"
                    "broken-line-without-fields\n"
                    "proc relative proc rw 0 0\n"
                    "tmpfs /run tmpfs rw 0 0";
    struct hostmetrics_mount m;
    size_t pos = 0;

    assert_int_equal(hostmetrics_mounts_next(S(t), &pos, &m), 1);
    assert_string_equal(m.dir, "/");
    assert_string_equal(m.type, "ext4");
    assert_true(hostmetrics_fs_is_real(&m));
    assert_int_equal(hostmetrics_mounts_next(S(t), &pos, &m), 1);
    assert_string_equal(m.dir, "/data dir");
    assert_string_equal(m.device, "/dev/vdb");
    assert_int_equal(hostmetrics_mounts_next(S(t), &pos, &m), -1);
    assert_int_equal(hostmetrics_mounts_next(S(t), &pos, &m), -1);
    assert_int_equal(hostmetrics_mounts_next(S(t), &pos, &m), 1);
    assert_string_equal(m.dir, "/run");
    assert_false(hostmetrics_fs_is_real(&m));
    assert_int_equal(hostmetrics_mounts_next(S(t), &pos, &m), 0);
    assert_int_equal(hostmetrics_mounts_next(S(t), &pos, &m), 0);
}

static void
test_hostmetrics_fs_is_real(void **state)
{
    struct hostmetrics_mount m;
    static const struct {
        const char *dev, *type;
        int real;
    } cases[] = {
        { "/dev/sda1", "ext4", 1 },   { "tank/home", "zfs", 1 },
        { "srv:/x", "nfs4", 0 },      { "overlay", "overlay", 0 },
        { "//srv/share", "cifs", 0 }, { "tank", "zfs", 1 },
        { "/dev/loop3", "squashfs", 0 }, { "cgroup", "cgroup", 0 },
        { "none", "ext4", 0 },        { "shm", "tmpfs", 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&m, 0, sizeof(m));
        strncpy(m.device, cases[i].dev, sizeof(m.device) - 1);
        strncpy(m.type, cases[i].type, sizeof(m.type) - 1);
        m.dir[0] = '/';
        assert_int_equal(hostmetrics_fs_is_real(&m), cases[i].real);
    }
}

static void
test_hostmetrics_mounts_escape_and_length(void **state)
{
    char line[600];
    struct hostmetrics_mount m;
    size_t pos = 0;

    /* An escaped NUL is refused; a bad escape is kept literally. */
    assert_int_equal(hostmetrics_mounts_next(S("/d /a\\000b ext4\n"), &pos,
                                             &m), -1);
    pos = 0;
    assert_int_equal(hostmetrics_mounts_next(S("/d /a\\09b ext4\n"), &pos,
                                             &m), 1);
    assert_string_equal(m.dir, "/a\\09b");
    /* A mount point longer than HOSTMETRICS_NAME_MAX is skipped. */
    memset(line, 'x', sizeof(line));
    memcpy(line, "/dev/a /", 8);
    memcpy(line + 500, " ext4 rw\n", 9);
    pos = 0;
    assert_int_equal(hostmetrics_mounts_next(line, 509, &pos, &m), -1);
    assert_int_equal(pos, 509);
}

static void
test_hostmetrics_diskstats(void **state)
{
    const char *t = "   8       0 sda 100 0 1000 0 200 0 2000 0 0 0 0\n"
                    "   8       1 sda1 50 0 500\n"
                    "   8      16 sdb 1 0 x 0 2 0 3 0 0 0 0\n"
                    " 254       0 vda 1 2 18446744073709551615 4 5 6 7 8";
    struct hostmetrics_disk d;
    size_t pos = 0;

    assert_int_equal(hostmetrics_diskstats_next(S(t), &pos, &d), 1);
    assert_string_equal(d.name, "sda");
    assert_true(d.read_sectors == 1000 && d.write_sectors == 2000);
    assert_int_equal(hostmetrics_diskstats_next(S(t), &pos, &d), -1);
    assert_int_equal(hostmetrics_diskstats_next(S(t), &pos, &d), -1);
    assert_int_equal(hostmetrics_diskstats_next(S(t), &pos, &d), 1);
    assert_true(d.read_sectors == UINT64_MAX && d.write_sectors == 7);
    assert_int_equal(hostmetrics_diskstats_next(S(t), &pos, &d), 0);
    assert_true(hostmetrics_disk_is_virtual("loop0"));
    assert_true(hostmetrics_disk_is_virtual("ram1"));
    assert_false(hostmetrics_disk_is_virtual("nvme0n1"));
}

static void
test_hostmetrics_netdev(void **state)
{
    const char *t =
        "Inter-|   Receive |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|b\n"
        "    lo: 549 33861 0 0 0 0 0 0 549 33861 0 0 0 0 0 0\n"
        "  eth0:337392657 7882 3 0 0 0 0 0 256055 3011 4 0 0 0 0 0\n"
        "  eth1: 1 2 3\n"
        "  bad name: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
        "  veth9: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
    struct hostmetrics_net n;
    size_t pos = 0;

    assert_int_equal(hostmetrics_netdev_next(S(t), &pos, &n), 1);
    assert_string_equal(n.name, "lo");
    /* No space between the colon and the first number (large counters). */
    assert_int_equal(hostmetrics_netdev_next(S(t), &pos, &n), 1);
    assert_string_equal(n.name, "eth0");
    assert_true(n.rx_bytes == 337392657 && n.rx_errors == 3);
    assert_true(n.tx_bytes == 256055 && n.tx_errors == 4);
    assert_int_equal(hostmetrics_netdev_next(S(t), &pos, &n), -1);
    assert_int_equal(hostmetrics_netdev_next(S(t), &pos, &n), -1);
    assert_int_equal(hostmetrics_netdev_next(S(t), &pos, &n), 1);
    assert_string_equal(n.name, "veth9");
    assert_true(n.rx_bytes == 1 && n.tx_bytes == 9 && n.tx_errors == 11);
    assert_int_equal(hostmetrics_netdev_next(S(t), &pos, &n), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostmetrics_u64),
        cmocka_unit_test(test_hostmetrics_stat_full),
        cmocka_unit_test(test_hostmetrics_stat_old_kernel),
        cmocka_unit_test(test_hostmetrics_stat_bad),
        cmocka_unit_test(test_hostmetrics_cpu_pct_exact),
        cmocka_unit_test(test_hostmetrics_cpu_pct_refused),
        cmocka_unit_test(test_hostmetrics_loadavg),
        cmocka_unit_test(test_hostmetrics_meminfo),
        cmocka_unit_test(test_hostmetrics_meminfo_bad),
        cmocka_unit_test(test_hostmetrics_uptime),
        cmocka_unit_test(test_hostmetrics_mounts),
        cmocka_unit_test(test_hostmetrics_fs_is_real),
        cmocka_unit_test(test_hostmetrics_mounts_escape_and_length),
        cmocka_unit_test(test_hostmetrics_diskstats),
        cmocka_unit_test(test_hostmetrics_netdev),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
