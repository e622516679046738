/*  test_rrdwriter_create.c - rrdwriter_create: files made from a librrd template equal what
    rrd_create makes with the same arguments (rrd_info equal but the RRAs' cur_row), parent
    directories are made, an existing file is never replaced (also when two processes race on
    the same names), the sharing probe.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../rrdwriter/rrdwriter_create.h"

#include <math.h>
#include <rrd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_TS       INT64_C(1700000000)
#define S_STEP     300
#define S_RACE_N   240
#define S_TEXT_MAX (256 * 1024)

static char *s_tmpdir(void)
{
    char tmpl[] = "/tmp/dp-create.XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void s_rmdir(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("    cannot remove %s\n", dir);
    free(dir);
}

/* rrd_info of path as "key=value\n" lines, without filename and the RRAs' cur_row.
   Returns a malloc'ed text or NULL when librrd cannot read the file. */
static char *s_info(const char *path)
{
    rrd_info_t *info = rrd_info_r((char *)path);
    if (!info)
        return NULL;
    char *text = malloc(S_TEXT_MAX);
    size_t len = 0;
    text[0] = '\0';
    for (rrd_info_t *i = info; i && len < S_TEXT_MAX - 512; i = i->next) {
        if (strcmp(i->key, "filename") == 0 || strstr(i->key, ".cur_row"))
            continue;
        len += (size_t)snprintf(text + len, S_TEXT_MAX - len, "%s=", i->key);
        switch (i->type) {
        case RD_I_VAL:
            len += (size_t)snprintf(text + len, S_TEXT_MAX - len, "%.17g\n", i->value.u_val);
            break;
        case RD_I_CNT:
            len += (size_t)snprintf(text + len, S_TEXT_MAX - len, "%lu\n", i->value.u_cnt);
            break;
        case RD_I_INT:
            len += (size_t)snprintf(text + len, S_TEXT_MAX - len, "%d\n", i->value.u_int);
            break;
        case RD_I_STR:
            len += (size_t)snprintf(text + len, S_TEXT_MAX - len, "%s\n", i->value.u_str);
            break;
        default:
            len += (size_t)snprintf(text + len, S_TEXT_MAX - len, "?\n");
        }
    }
    rrd_info_free(info);
    return text;
}

/* The DS list of a kind as the apply thread holds it (parsed wire definitions). */
static int s_kind_ds(rrdwriter_def_kind_t kind, rrdwriter_def_ds_t *ds)
{
    int n = rrdwriter_def_ds_count(kind);
    for (int i = 0; i < n; i++) {
        char wire[128];
        if (rrdwriter_def_ds_wire(kind, i, S_STEP, wire, sizeof wire) != 0 ||
            rrdwriter_def_ds_parse(wire, &ds[i], NULL) != 0)
            return -1;
    }
    return n;
}

/* What rrdtool create -b last_up makes, at path. Returns 0 or -1. */
static int s_reference(const char *path, rrdwriter_def_kind_t kind,
                       const rrdwriter_def_rras_t *rras, int64_t last_up)
{
    char **argv = NULL;
    int argc = 0;
    if (rrdwriter_def_create_args(kind, rras, S_STEP, &argv, &argc, NULL) != 0)
        return -1;
    int rc = rrd_create_r2(path, S_STEP, (time_t)last_up, 1, NULL, NULL, argc, (const char **)argv);
    rrdwriter_def_free_args(&argv, argc);
    return rc;
}

/* Creates files of kind in dir through the creator and compares each with the reference. */
static void s_check_equal(const char *preset, rrdwriter_def_kind_t kind)
{
    char *dir = s_tmpdir();
    CHECK(dir);
    rrdwriter_def_rras_t rras;
    rrdwriter_def_ds_t ds[RRDWRITER_DEF_DS_MAX];
    CHECK_EQ_INT(rrdwriter_def_rras_parse(preset, &rras, NULL), 0);
    int n_ds = s_kind_ds(kind, ds);
    CHECK(n_ds > 0);
    rrdwriter_create_t *c = rrdwriter_create_new(dir, S_STEP, &rras, NULL);
    CHECK(c);
    /* two groups (two last update times), in new subdirectories, shuffled */
    rrdwriter_create_job_t jobs[6];
    char paths[6][64];
    for (int i = 0; i < 6; i++) {
        snprintf(paths[i], sizeof paths[i], "host%d/sub/f%d.rrd", i % 2, i);
        jobs[i] = (rrdwriter_create_job_t){.path = paths[i],
                                           .ds = ds,
                                           .n_ds = n_ds,
                                           .last_up_s = S_TS + 17 + (i % 3 == 0 ? 123 : 0)};
    }
    CHECK_EQ_INT(rrdwriter_create_files(c, jobs, 6), 6);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(jobs[i].status, RRDWRITER_CREATE_DONE);
        char got[512], ref[512];
        snprintf(got, sizeof got, "%s/%s", dir, paths[i]);
        snprintf(ref, sizeof ref, "%s/ref%d.rrd", dir, i);
        CHECK_EQ_INT(s_reference(ref, kind, &rras, jobs[i].last_up_s), 0);
        char *a = s_info(got), *b = s_info(ref);
        CHECK(a && b);
        char want[64];
        snprintf(want, sizeof want, "last_update=%lld\n", (long long)jobs[i].last_up_s);
        CHECK_CONTAINS(a, want);
        bool same = strcmp(a, b) == 0;
        if (!same)
            printf("    created:\n%.2000s\n    rrd_create:\n%.2000s\n", a, b);
        free(a);
        free(b);
        CHECK(same);
        struct stat sa, sb;
        CHECK(stat(got, &sa) == 0 && stat(ref, &sb) == 0);
        CHECK_EQ_INT(sa.st_size, sb.st_size);
        CHECK_EQ_INT(sa.st_mode & 0777, sb.st_mode & 0777);
    }
    /* nothing but the files was left behind (no template or temporary file) */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(find '%s' -type f | wc -l) -eq 12", dir);
    CHECK_EQ_INT(system(cmd), 0);
    rrdwriter_create_destroy(&c);
    CHECK(c == NULL);
    s_rmdir(dir);
}

DP_TEST(rrdwriter_create_equals_rrd_create)
{
    s_check_equal("small", RRDWRITER_DEF_PORT);
    s_check_equal("small", RRDWRITER_DEF_PING_PERF);
    s_check_equal("librenms", RRDWRITER_DEF_PORT);
    s_check_equal("librenms", RRDWRITER_DEF_STORAGE);
}

DP_TEST(rrdwriter_create_never_overwrites)
{
    char *dir = s_tmpdir();
    CHECK(dir);
    rrdwriter_def_rras_t rras;
    rrdwriter_def_ds_t ds[RRDWRITER_DEF_DS_MAX];
    CHECK_EQ_INT(rrdwriter_def_rras_parse("small", &rras, NULL), 0);
    int n_ds = s_kind_ds(RRDWRITER_DEF_UPTIME, ds);
    rrdwriter_create_t *c = rrdwriter_create_new(dir, S_STEP, &rras, NULL);
    CHECK(c);
    rrdwriter_create_job_t j = {.path = "h/uptime.rrd", .ds = ds, .n_ds = n_ds, .last_up_s = S_TS};
    CHECK_EQ_INT(rrdwriter_create_files(c, &j, 1), 1);
    CHECK_EQ_INT(j.status, RRDWRITER_CREATE_DONE);
    j.last_up_s = S_TS + 1000;
    CHECK_EQ_INT(rrdwriter_create_files(c, &j, 1), 0);
    CHECK_EQ_INT(j.status, RRDWRITER_CREATE_EXISTS);
    char path[512];
    snprintf(path, sizeof path, "%s/h/uptime.rrd", dir);
    char *info = s_info(path);
    CHECK(info);
    bool kept = strstr(info, "last_update=1700000000\n") != NULL;
    free(info);
    CHECK(kept);
    /* a path whose directory is a file fails and says why */
    j.path = "h/uptime.rrd/x.rrd";
    CHECK_EQ_INT(rrdwriter_create_files(c, &j, 1), 0);
    CHECK_EQ_INT(j.status, RRDWRITER_CREATE_FAILED);
    CHECK(j.error[0] != '\0');
    rrdwriter_create_destroy(&c);
    CHECK(rrdwriter_create_new("/nonexistent/dp-create", S_STEP, &rras, NULL) == NULL);
    s_rmdir(dir);
}

/* Child of the race: creates S_RACE_N files with last_up, writes the count created to fd (not
   the exit status: under valgrind a child's exit status carries valgrind's verdict, and memory
   only the parent's other threads pointed to looks lost in the child). */
static void s_racer(const char *dir, const rrdwriter_def_rras_t *rras, int64_t last_up, int fd)
{
    rrdwriter_def_ds_t ds[RRDWRITER_DEF_DS_MAX];
    int n_ds = s_kind_ds(RRDWRITER_DEF_PORT, ds);
    rrdwriter_create_t *c = rrdwriter_create_new(dir, S_STEP, rras, NULL);
    static rrdwriter_create_job_t jobs[S_RACE_N];
    static char paths[S_RACE_N][32];
    for (int i = 0; i < S_RACE_N; i++) {
        snprintf(paths[i], sizeof paths[i], "d%d/port-id%d.rrd", i / 24, i);
        jobs[i] = (rrdwriter_create_job_t){
            .path = paths[i], .ds = ds, .n_ds = n_ds, .last_up_s = last_up};
    }
    size_t created = c ? rrdwriter_create_files(c, jobs, S_RACE_N) : 0;
    for (int i = 0; i < S_RACE_N; i++)
        if (jobs[i].status == RRDWRITER_CREATE_FAILED)
            created = 1000; /* a failure is not a lost race */
    rrdwriter_create_destroy(&c);
    int n = (int)created;
    _exit(write(fd, &n, sizeof n) == (ssize_t)sizeof n ? 0 : 1);
}

DP_TEST(rrdwriter_create_race_never_overwrites)
{
    char *dir = s_tmpdir();
    CHECK(dir);
    rrdwriter_def_rras_t rras;
    CHECK_EQ_INT(rrdwriter_def_rras_parse("small", &rras, NULL), 0);
    int total = 0;
    for (int round = 0; round < 2; round++) {
        /* two processes race for the same names (round 1: all exist already) */
        pid_t pids[2];
        int fds[2][2];
        for (int k = 0; k < 2; k++) {
            CHECK(pipe(fds[k]) == 0);
            pids[k] = fork();
            CHECK(pids[k] >= 0);
            if (pids[k] == 0)
                s_racer(dir, &rras, S_TS + k, fds[k][1]);
            close(fds[k][1]);
        }
        int got = 0;
        for (int k = 0; k < 2; k++) {
            int st = 0, n = -1;
            CHECK(waitpid(pids[k], &st, 0) == pids[k] && WIFEXITED(st));
            CHECK(read(fds[k][0], &n, sizeof n) == (ssize_t)sizeof n);
            close(fds[k][0]);
            CHECK(n >= 0 && n <= S_RACE_N); /* 1000: a racer failed to create */
            got += n;
        }
        total += got;
        CHECK_EQ_INT(got, round == 0 ? S_RACE_N : 0);
    }
    CHECK_EQ_INT(total, S_RACE_N);
    /* every file whole: readable, of the right size, from one of the two racers */
    off_t size = -1;
    for (int i = 0; i < S_RACE_N; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/d%d/port-id%d.rrd", dir, i / 24, i);
        struct stat st;
        CHECK(stat(path, &st) == 0);
        if (size < 0)
            size = st.st_size;
        CHECK_EQ_INT(st.st_size, size);
        char *info = s_info(path);
        CHECK(info);
        bool ok =
            strstr(info, "last_update=1700000000\n") || strstr(info, "last_update=1700000001\n");
        free(info);
        CHECK(ok);
    }
    s_rmdir(dir);
}

DP_TEST(rrdwriter_create_probe)
{
    char *dir = s_tmpdir();
    CHECK(dir);
    rrdwriter_def_rras_t rras;
    CHECK_EQ_INT(rrdwriter_def_rras_parse("small", &rras, NULL), 0);
    rrdwriter_create_t *c = rrdwriter_create_new(dir, S_STEP, &rras, NULL);
    CHECK(c);
    CHECK_EQ_STR(rrdwriter_create_dir(c), dir);
    CHECK_EQ_INT(rrdwriter_create_shared(c, 1), -1);
    char name[RRDWRITER_CREATE_PROBE_MAX], path[600];
    CHECK_EQ_INT(rrdwriter_create_probe_make(c, name, sizeof name, NULL), 0);
    CHECK(strchr(name, '/') == NULL);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *info = s_info(path);
    CHECK(info);
    bool has_ds = strstr(info, "ds[probe].type=GAUGE\n") != NULL;
    free(info);
    CHECK(has_ds);
    rrdwriter_create_probe_done(c, name, true, 1);
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(rrdwriter_create_shared(c, 1), 1);
    CHECK_EQ_INT(rrdwriter_create_shared(c, 2), -1); /* a new connection asks again */
    rrdwriter_create_probe_done(c, name, false, 2);
    CHECK_EQ_INT(rrdwriter_create_shared(c, 2), 0);
    rrdwriter_create_destroy(&c);
    s_rmdir(dir);
}
