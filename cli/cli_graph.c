/*  cli_graph.c - distpoll graph HOST [--port IFNAME] [--period 1d] -o FILE.png: a traffic graph
    of a port (or of all the device's ports summed) rendered by librrd's rrd_graph_v, after
    rrdcached flushed the files (--daemon).
    SPDX-License-Identifier: MIT */
#include "cli.h"

#include <rrd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_PORTS_MAX 64
#define S_ARGS_MAX  (40 + 4 * S_PORTS_MAX)
#define S_ARG_LEN   1200
#define S_FILE_LEN  1024
#define S_WIDTH     800
#define S_HEIGHT    300
#define S_PERIOD_S  86400
#define S_DIM_MAX   8000

typedef struct {
    const char *host, *port, *out, *title;
    long period_s, width, height;
} s_graph_args_t;

static int s_parse(int argc, char **argv, s_graph_args_t *a)
{
    *a = (s_graph_args_t){.period_s = S_PERIOD_S, .width = S_WIDTH, .height = S_HEIGHT};
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        if (o[0] != '-') {
            if (a->host)
                return cli_error(CLI_USAGE, "graph: unexpected argument \"%s\"", o);
            a->host = o;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_USAGE, "graph: %s needs a value", o);
        const char *v = argv[++i];
        int rc = 0;
        if (strcmp(o, "--port") == 0)
            a->port = v;
        else if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0)
            a->out = v;
        else if (strcmp(o, "--title") == 0)
            a->title = v;
        else if (strcmp(o, "--period") == 0)
            rc = cli_parse_duration_s("--period", v, &a->period_s);
        else if (strcmp(o, "--width") == 0)
            rc = cli_parse_long("--width", v, 100, S_DIM_MAX, &a->width);
        else if (strcmp(o, "--height") == 0)
            rc = cli_parse_long("--height", v, 60, S_DIM_MAX, &a->height);
        else
            return cli_error(CLI_USAGE, "graph: unknown option %s", o);
        if (rc)
            return rc;
    }
    if (!a->host || !a->out)
        return cli_error(CLI_USAGE, "graph: expected HOST [--port IFNAME] [--period 1d] "
                                    "[--width W] [--height H] -o FILE.png");
    size_t n = strlen(a->out);
    if (n < 5 || strcmp(a->out + n - 4, ".png") != 0)
        return cli_error(CLI_USAGE, "-o \"%s\": expected a file name ending in .png", a->out);
    return 0;
}

//  Finds the RRD files of the device's ports (one port when name is set).
static int s_port_files(cli_t *cli, int64_t id, const s_graph_args_t *a, char files[][S_FILE_LEN],
                        int *n)
{
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_prepare(cli->db,
                                    "SELECT port_id, COALESCE(ifName, ifDescr, '') FROM ports"
                                    " WHERE device_id = ? AND deleted = 0 AND"
                                    " (? = '' OR ifName = ? OR ifDescr = ?) ORDER BY ifIndex",
                                    &err);
    const char *want = a->port ? a->port : "";
    if (!q || dp_db_query(q, &err, "isss", id, want, want, want) != 0)
        return cli_error(CLI_FAIL, "graph: %s", err.text);
    char dir[CLI_HOST_MAX + 1];
    cli_rrd_host_dir(a->host, dir, sizeof dir);
    int rows = 0;
    *n = 0;
    while (dp_db_fetch(q) == 1) {
        rows++;
        if (*n == S_PORTS_MAX || (a->port && *n == 1))
            continue;
        snprintf(files[*n], S_FILE_LEN, "%s/%s/port-id%lld.rrd", cli->cfg->rrd_dir, dir,
                 (long long)dp_db_col_int(q, 0));
        if (access(files[*n], R_OK) == 0)
            (*n)++;
        else if (a->port)
            return cli_error(CLI_FAIL, "graph: no RRD file for %s port %s: %s (not polled yet?)",
                             a->host, a->port, files[*n]);
    }
    dp_db_stmt_destroy(&q);
    if (rows == 0)
        return a->port
                   ? cli_error(CLI_FAIL,
                               "--port \"%s\": no such port on %s (see distpoll "
                               "device show %s)",
                               a->port, a->host, a->host)
                   : cli_error(CLI_FAIL, "graph: %s has no ports (not discovered yet?)", a->host);
    if (*n == 0)
        return cli_error(CLI_FAIL, "graph: no port RRD files of %s under %s/%s (not polled yet?)",
                         a->host, cli->cfg->rrd_dir, dir);
    return 0;
}

//  Builds "CDEF:name=v0,v1,ADDNAN,v2,ADDNAN,...,8,*" over n DEFs named <p>0..<p>n-1.
static void s_sum_cdef(char *buf, size_t size, const char *name, const char *p, int n)
{
    int len = snprintf(buf, size, "CDEF:%s=%s0", name, p);
    for (int i = 1; i < n && len > 0 && (size_t)len < size; i++)
        len += snprintf(buf + len, size - (size_t)len, ",%s%d,ADDNAN", p, i);
    if (len > 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, ",8,*");
}

static rrd_info_t *s_render(cli_t *cli, const s_graph_args_t *a, char files[][S_FILE_LEN], int n,
                            bool daemon)
{
    static char args[S_ARGS_MAX][S_ARG_LEN];
    char *argv[S_ARGS_MAX];
    int c = 0;
#define S_ARG(...) snprintf(args[c], S_ARG_LEN, __VA_ARGS__), argv[c] = args[c], c++
    S_ARG("graph");
    S_ARG("%s", a->out);
    S_ARG("--start");
    S_ARG("end-%lds", a->period_s);
    S_ARG("--end");
    S_ARG("now");
    S_ARG("--width");
    S_ARG("%ld", a->width);
    S_ARG("--height");
    S_ARG("%ld", a->height);
    S_ARG("--full-size-mode");
    S_ARG("--imgformat");
    S_ARG("PNG");
    S_ARG("--vertical-label");
    S_ARG("bits/s");
    S_ARG("--title");
    S_ARG("%s", a->title ? a->title : "");
    if (!a->title)
        snprintf(args[c - 1], S_ARG_LEN, "%s %s", a->host, a->port ? a->port : "(all ports)");
    if (daemon) {
        S_ARG("--daemon");
        S_ARG("%s", cli->cfg->rrdcached);
    }
    for (int i = 0; i < n; i++) {
        S_ARG("DEF:in%d=%.1100s:INOCTETS:AVERAGE", i, files[i]);
        S_ARG("DEF:out%d=%.1100s:OUTOCTETS:AVERAGE", i, files[i]);
    }
    s_sum_cdef(args[c], S_ARG_LEN, "inb", "in", n), argv[c] = args[c], c++;
    s_sum_cdef(args[c], S_ARG_LEN, "outb", "out", n), argv[c] = args[c], c++;
    S_ARG("VDEF:inmax=inb,MAXIMUM");
    S_ARG("VDEF:outmax=outb,MAXIMUM");
    S_ARG("VDEF:inlast=inb,LAST");
    S_ARG("VDEF:outlast=outb,LAST");
    S_ARG("PRINT:inlast:%%.0lf");
    S_ARG("PRINT:outlast:%%.0lf");
    S_ARG("AREA:inb#4caf50:In ");
    S_ARG("GPRINT:inlast:now %%6.2lf %%sbps");
    S_ARG("GPRINT:inmax:max %%6.2lf %%sbps\\n");
    S_ARG("LINE1:outb#1e3a8a:Out");
    S_ARG("GPRINT:outlast:now %%6.2lf %%sbps");
    S_ARG("GPRINT:outmax:max %%6.2lf %%sbps\\n");
#undef S_ARG
    rrd_clear_error();
    return rrd_graph_v(c, argv);
}

//  --------------------------------------------------------------------------
int cli_graph(cli_t *cli, int argc, char **argv)
{
    s_graph_args_t a;
    int rc = s_parse(argc, argv, &a);
    if (rc)
        return rc;
    if (!cli->cfg->rrd_dir)
        return cli_error(CLI_CONFIG, "graph: DP_RRD_DIR is not set");
    int64_t id;
    int found = cli_find_device(cli, a.host, &id);
    if (found != 1)
        return found < 0 && !cli->db ? CLI_UNAVAILABLE : CLI_FAIL;
    static char files[S_PORTS_MAX][S_FILE_LEN];
    int n = 0;
    if ((rc = s_port_files(cli, id, &a, files, &n)) != 0)
        return rc;
    char why[256] = "DP_RRDCACHED is not set";
    int fd = cli->cfg->rrdcached ? cli_rrdcached_connect(cli->cfg->rrdcached, why, sizeof why) : -1;
    bool daemon = fd >= 0;
    if (fd >= 0)
        close(fd);
    else
        fprintf(stderr,
                "distpoll: graph: rrdcached %s: %s; drawing from the files as they are (the "
                "last updates may be missing)\n",
                cli->cfg->rrdcached ? cli->cfg->rrdcached : "", why);
    rrd_info_t *info = s_render(cli, &a, files, n, daemon);
    if (!info)
        return cli_error(CLI_FAIL, "graph: librrd: %s", rrd_get_error());
    long w = 0, h = 0;
    const char *last_in = "?", *last_out = "?";
    for (rrd_info_t *i = info; i; i = i->next) {
        if (strcmp(i->key, "image_width") == 0)
            w = (long)i->value.u_cnt;
        else if (strcmp(i->key, "image_height") == 0)
            h = (long)i->value.u_cnt;
        else if (strcmp(i->key, "print[0]") == 0 && i->type == RD_I_STR)
            last_in = i->value.u_str;
        else if (strcmp(i->key, "print[1]") == 0 && i->type == RD_I_STR)
            last_out = i->value.u_str;
    }
    printf("wrote %s (%ldx%ld PNG, %ld s, %d port%s; last in %s bit/s, out %s bit/s)\n", a.out, w,
           h, a.period_s, n, n == 1 ? "" : "s", last_in, last_out);
    rrd_info_free(info);
    return CLI_OK;
}
