/*  rrdwriter_def.h - RRD definitions: kinds, data sources, RRA sets, paths, updates
    A static table of RRD kinds (LibreNMS-compatible DS lists), the create
    arguments for rrdc_create / rrdtool create, per-device paths that cannot
    escape the RRD directory, and validation + formatting of update strings.
    Pure functions over constant tables; thread-safe.
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_DEF_H
#define RRDWRITER_DEF_H

#include "dp_err.h"

#include <stddef.h>
#include <stdint.h>

#define RRDWRITER_DEF_STEP_S           300 /* LibreNMS rrd.step */
#define RRDWRITER_DEF_HEARTBEAT_FACTOR 2   /* heartbeat = 2 x step (600 at 300) */
#define RRDWRITER_DEF_FUTURE_SLACK_S   300 /* updates may be at most this far ahead of now */
#define RRDWRITER_DEF_RRA_MAX          32  /* RRAs in one set */
#define RRDWRITER_DEF_RRA_LEN          64  /* bytes of one "RRA:CF:xff:steps:rows" string */
#define RRDWRITER_DEF_DS_MAX           16  /* data sources in one kind */
#define RRDWRITER_DEF_UPDATE_MAX       512 /* enough for "ts:" + DS_MAX formatted values */

/* The RRD kinds distpoll writes; one file per (device, kind, sub, index). */
typedef enum {
    RRDWRITER_DEF_PORT = 0,     /* port-id<index>.rrd: 15 DERIVE, min 0, max 12500000000 */
    RRDWRITER_DEF_POLLER_PERF,  /* poller-perf.rrd: poller GAUGE min 0 (seconds) */
    RRDWRITER_DEF_UPTIME,       /* uptime.rrd: uptime GAUGE min 0 (seconds) */
    RRDWRITER_DEF_PING_PERF,    /* ping-perf.rrd: ping GAUGE 0..65535 (ms) */
    RRDWRITER_DEF_AVAILABILITY, /* availability-<index>.rrd: availability GAUGE 0..100 (%) */
    RRDWRITER_DEF_PROCESSOR,    /* processor-<sub>-<index>.rrd: usage GAUGE -273..1000 */
    RRDWRITER_DEF_STORAGE,      /* storage-<sub>.rrd: used, free GAUGE min 0 (bytes) */
    RRDWRITER_DEF_MEMPOOL,      /* mempool-<sub>-<index>.rrd: used, free GAUGE min 0 */
    RRDWRITER_DEF_KIND_COUNT
} rrdwriter_def_kind_t;

/* A set of RRAs, e.g. a preset or a LibreNMS-style rrd_rra list. A value type. */
typedef struct {
    int count;                                              /* RRAs in use */
    char rra[RRDWRITER_DEF_RRA_MAX][RRDWRITER_DEF_RRA_LEN]; /* "RRA:CF:xff:steps:rows" */
} rrdwriter_def_rras_t;

/* Looks up a kind by name ("port", "poller-perf", ...).
   Returns 0 or -1 (err DP_ERR_CONFIG). */
int rrdwriter_def_kind_parse(const char *name, rrdwriter_def_kind_t *kind, dp_err_t *err);

/* Name of a kind ("port"); "?" for an out-of-range value. Static string. */
const char *rrdwriter_def_kind_name(rrdwriter_def_kind_t kind);

/* Number of data sources of a kind (the value count of each update); 0 if out of range. */
int rrdwriter_def_ds_count(rrdwriter_def_kind_t kind);

/* Name of data source i of a kind ("INOCTETS"); NULL if out of range. Static string. */
const char *rrdwriter_def_ds_name(rrdwriter_def_kind_t kind, int i);

/* Fills rras from a config value: "librenms" (LibreNMS's default rrd_rra: AVERAGE,
   MIN and MAX at 1:2016 6:1440 24:1440 288:1440, plus LAST 1:2016), "small"
   (AVERAGE 1:24 + MAX 12:24: a few KB per file, for benches) or a space- or
   comma-separated list of "RRA:<AVERAGE|MIN|MAX|LAST>:<xff 0..<1>:<steps>:<rows>".
   Returns 0 or -1 (err DP_ERR_CONFIG naming the bad entry; rras unchanged). */
int rrdwriter_def_rras_parse(const char *spec, rrdwriter_def_rras_t *rras, dp_err_t *err);

/* Builds the argv for rrdc_create(file, step_s, ..., argc, argv) or, after
   "create FILE --step STEP", for rrdtool create: the "DS:name:type:hb:min:max"
   strings (heartbeat = 2 x step_s, U for no limit) then the RRA strings.
   Caller owns *argv; free with rrdwriter_def_free_args.
   Returns 0 or -1 (err DP_ERR_CONFIG: bad kind, no RRAs, step_s < 1). */
int rrdwriter_def_create_args(rrdwriter_def_kind_t kind, const rrdwriter_def_rras_t *rras,
                              int step_s, char ***argv, int *argc, dp_err_t *err);

/* Frees an argv from rrdwriter_def_create_args and sets *argv to NULL. NULL-safe. */
void rrdwriter_def_free_args(char ***argv, int argc);

/* Writes "<host>/<file>.rrd", relative to the RRD directory, into buf.
   hostname is sanitised so it is one safe path component: characters outside
   [A-Za-z0-9._:-] become '_', a leading '.' and any '.' right after a '.' become '_'.
   sub (processor type, storage "<mib>-<descr>", mempool type) is required by the
   kinds that show <sub> above and sanitised like LibreNMS (outside [A-Za-z0-9,._-]
   -> '_'); index is used by the kinds that show <index>.
   Returns 0 or -1 (err DP_ERR_PROTO: empty or over-long hostname, missing sub;
   DP_ERR_INTERNAL: buf too small). */
int rrdwriter_def_path(char *buf, size_t size, const char *hostname, rrdwriter_def_kind_t kind,
                       const char *sub, uint64_t index, dp_err_t *err);

/* Checks an update before it is sent: nvalues == DS count; each value NaN
   (sent as U) or finite; DERIVE values integral and |v| < 2^64; GAUGE values
   within the DS min/max; ts_s > 0, ts_s > last_ts_s (pass last_ts_s <= 0 when
   unknown) and ts_s <= now + RRDWRITER_DEF_FUTURE_SLACK_S.
   Returns 0 or -1 (err DP_ERR_PROTO naming the value, DS and rule). */
int rrdwriter_def_validate(rrdwriter_def_kind_t kind, int64_t ts_s, const double *values,
                           int nvalues, int64_t last_ts_s, dp_err_t *err);

/* Formats "ts:v1:v2:..." for rrdc_update / rrdtool update: NaN as U, integral
   values below 2^64 in magnitude as exact integers ("12000000000", never
   "1.2e+10"), others as the shortest decimal that reads back the same.
   Returns 0, or -1 when buf is too small or a value is infinite (buf then "").
   Validate first. */
int rrdwriter_def_format_update(char *buf, size_t size, int64_t ts_s, const double *values,
                                int nvalues);

/* Data source types accepted from the wire. */
typedef enum {
    RRDWRITER_DEF_GAUGE = 0,
    RRDWRITER_DEF_COUNTER,
    RRDWRITER_DEF_DERIVE,
    RRDWRITER_DEF_ABSOLUTE,
} rrdwriter_def_ds_type_t;

#define RRDWRITER_DEF_DS_NAME_MAX 19 /* rrdtool's DS name limit */

/* One data source as carried in METRICS ("NAME:TYPE:HB:MIN:MAX"). A value type. */
typedef struct {
    char name[RRDWRITER_DEF_DS_NAME_MAX + 1]; /* [A-Za-z0-9_-], 1..19 chars */
    rrdwriter_def_ds_type_t type;             /* GAUGE | COUNTER | DERIVE | ABSOLUTE */
    int heartbeat_s;                          /* as sent; the writer uses 2 x its own step */
    double min;                               /* NAN for U */
    double max;                               /* NAN for U */
} rrdwriter_def_ds_t;

/* Writes the wire DS definition of data source i of a kind, "INOCTETS:DERIVE:600:0:12500000000"
   (heartbeat 2 x step_s, U for no limit), into buf: what a worker puts in METRICS.ds.
   Returns 0 or -1 (bad kind/index/step, or buf too small). */
int rrdwriter_def_ds_wire(rrdwriter_def_kind_t kind, int i, int step_s, char *buf, size_t size);

/* Parses a wire DS definition "NAME:TYPE:HB:MIN:MAX" (TYPE GAUGE|COUNTER|DERIVE|ABSOLUTE, HB a
   positive integer, MIN/MAX numbers or U). Returns 0 or -1 (err DP_ERR_PROTO naming the part). */
int rrdwriter_def_ds_parse(const char *def, rrdwriter_def_ds_t *ds, dp_err_t *err);

/* Writes "DS:NAME:TYPE:<2 x step_s>:MIN:MAX" for rrdtool/rrdcached create into buf.
   Returns 0 or -1 (buf too small or step_s < 1). */
int rrdwriter_def_ds_create_arg(const rrdwriter_def_ds_t *ds, int step_s, char *buf, size_t size);

/* Checks one value for a DS so rrd_update cannot fail on it later (rrdcached would then drop
   the file's following values): NaN ok; finite; COUNTER/DERIVE/ABSOLUTE integral with
   |v| < 2^64 (COUNTER and ABSOLUTE also >= 0). GAUGE values outside min/max are accepted
   (rrdtool stores them as unknown). Returns 0 or -1 (err DP_ERR_PROTO naming DS and rule). */
int rrdwriter_def_check_ds_value(const rrdwriter_def_ds_t *ds, double v, dp_err_t *err);

#endif
