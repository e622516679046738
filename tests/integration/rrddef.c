/*  rrddef.c - test helper: rrdwriter_def from the shell, for test_rrd_defs.sh
    rrddef create KIND RRAS [STEP]         DS/RRA arguments, one per line
    rrddef path HOST KIND [SUB] [INDEX]     "<host>/<file>.rrd"
    rrddef update KIND TS LAST_TS V...      validated "ts:v1:..." (V may be U); exit 1 if invalid
    SPDX-License-Identifier: MIT */

/* Integration binaries link only libdpcommon, so the module is compiled in here. */
#include "../../rrdwriter/rrdwriter_def.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_EXIT_USAGE 2

static int s_usage(void)
{
    fprintf(stderr, "usage: rrddef create KIND RRAS [STEP] | path HOST KIND [SUB] [INDEX] |"
                    " update KIND TS LAST_TS V...\n");
    return S_EXIT_USAGE;
}

static int s_fail(const dp_err_t *err)
{
    fprintf(stderr, "error: %s: %s\n", dp_err_name(err->code), err->text);
    return 1;
}

static int s_create(int argc, char **argv)
{
    dp_err_t err;
    rrdwriter_def_kind_t kind;
    rrdwriter_def_rras_t rras;
    if (argc < 4)
        return s_usage();
    int step_s = argc > 4 ? atoi(argv[4]) : RRDWRITER_DEF_STEP_S;
    if (rrdwriter_def_kind_parse(argv[2], &kind, &err) != 0 ||
        rrdwriter_def_rras_parse(argv[3], &rras, &err) != 0)
        return s_fail(&err);
    char **args = NULL;
    int nargs = 0;
    if (rrdwriter_def_create_args(kind, &rras, step_s, &args, &nargs, &err) != 0)
        return s_fail(&err);
    for (int i = 0; i < nargs; i++)
        printf("%s\n", args[i]);
    rrdwriter_def_free_args(&args, nargs);
    return 0;
}

static int s_path(int argc, char **argv)
{
    dp_err_t err;
    rrdwriter_def_kind_t kind;
    char buf[1024];
    if (argc < 4)
        return s_usage();
    if (rrdwriter_def_kind_parse(argv[3], &kind, &err) != 0)
        return s_fail(&err);
    const char *sub = argc > 4 && argv[4][0] ? argv[4] : NULL;
    uint64_t index = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
    if (rrdwriter_def_path(buf, sizeof buf, argv[2], kind, sub, index, &err) != 0)
        return s_fail(&err);
    printf("%s\n", buf);
    return 0;
}

static int s_update(int argc, char **argv)
{
    dp_err_t err;
    rrdwriter_def_kind_t kind;
    double values[RRDWRITER_DEF_DS_MAX + 8];
    if (argc < 5 || argc - 5 > (int)(sizeof values / sizeof values[0]))
        return s_usage();
    if (rrdwriter_def_kind_parse(argv[2], &kind, &err) != 0)
        return s_fail(&err);
    int64_t ts_s = strtoll(argv[3], NULL, 10);
    int64_t last_ts_s = strtoll(argv[4], NULL, 10);
    int n = argc - 5;
    for (int i = 0; i < n; i++) {
        char *end = NULL;
        const char *s = argv[5 + i];
        values[i] = strcmp(s, "U") == 0 ? NAN : strtod(s, &end);
        if (end && (end == s || *end))
            return dp_err_set(&err, DP_ERR_PROTO, "not a number: '%s'", s), s_fail(&err);
    }
    if (rrdwriter_def_validate(kind, ts_s, values, n, last_ts_s, &err) != 0)
        return s_fail(&err);
    char buf[RRDWRITER_DEF_UPDATE_MAX];
    if (rrdwriter_def_format_update(buf, sizeof buf, ts_s, values, n) != 0)
        return dp_err_set(&err, DP_ERR_INTERNAL, "update too long"), s_fail(&err);
    printf("%s\n", buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return s_usage();
    if (strcmp(argv[1], "create") == 0)
        return s_create(argc, argv);
    if (strcmp(argv[1], "path") == 0)
        return s_path(argc, argv);
    if (strcmp(argv[1], "update") == 0)
        return s_update(argc, argv);
    return s_usage();
}
