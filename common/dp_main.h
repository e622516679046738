/*  dp_main.h - the start-up and shut-down sequence every daemon's main.c shares
    dp_main_config: block signals, load the configuration (exit 78 EX_CONFIG naming the
    problem), --help, dp_cfg_require NODE_ID/APP_KEY (+ the daemon's own keys), dp_log_init,
    SIGPIPE ignored (hiredis writes with write(2)), mysql_library_init when the daemon uses
    MariaDB. dp_main_start: CURVE keys (and the ZAP handler for CURVE servers), the control
    socket (dp_daemon), /metrics (dp_http, optional), the drain deadline. The daemon creates
    its service between dp_main_start and dp_main_run and destroys it before dp_main_end:

        dp_main_t m = {.name = "biller", .usage = "usage: ...", .db = true};
        int rc = dp_main_config(&m, argc, argv);
        if (rc != DP_MAIN_GO)
            return rc;
        if ((rc = dp_main_start(&m)) == DP_MAIN_GO) {
            svc = biller_new(m.cfg, m.daemon, argc, argv, &err);
            rc = svc ? dp_main_run(&m) : dp_main_fail(&m, EX_CONFIG, "cannot start", &err);
        }
        biller_destroy(&svc);
        dp_main_end(&m);
        return rc;

    Exit codes: 0 (--help, clean drain), 1 (drain deadline passed), 71 EX_OSERR (signals),
    69 EX_UNAVAILABLE (another copy holds the control socket), 78 EX_CONFIG (anything else).
    SPDX-License-Identifier: MIT */
#ifndef DP_MAIN_H
#define DP_MAIN_H

#include "dp_cfg.h"
#include "dp_daemon.h"
#include "dp_err.h"
#include "dp_http.h"
#include "dp_zmq.h"

#include <stdbool.h>

#define DP_MAIN_GO           -1  /* carry on; any other return value is the exit code */
#define DP_MAIN_ENDPOINT_MAX 512 /* control endpoint text */

/* --help goes to stdout (exit 0). Start-up errors read the same in every daemon, on stderr:
   "<name>: configuration error: <what>" (the file, line and key as dp_cfg names them),
   e.g. "poller: configuration error: DP_CONTROL_DIR is too long". */

/* CURVE: none (the service derives what it needs), client keys, or keys + ZAP handler. */
typedef enum { DP_MAIN_CURVE_NONE, DP_MAIN_CURVE_CLIENT, DP_MAIN_CURVE_SERVER } dp_main_curve_t;

typedef struct {
    /* set by the caller */
    const char *name;           /* "poller": log name, control socket, message prefix */
    const char *usage;          /* printed before the key list on --help */
    const char *const *require; /* keys required beyond NODE_ID and APP_KEY, or NULL */
    dp_main_curve_t curve;      /* what to do with DP_CURVE */
    bool db;                    /* the daemon uses MariaDB: mysql_library_init/end */
    /* set by dp_main_config and dp_main_start; owned, freed by dp_main_end */
    dp_cfg_t *cfg;                  /* the configuration */
    dp_daemon_t *daemon;            /* signals, control socket, lifecycle */
    dp_http_t *http;                /* /metrics or NULL */
    dp_zmq_keys_t curve_keys;       /* valid when have_keys */
    bool have_keys;                 /* CURVE keys derived */
    bool zap;                       /* ZAP handler started (stopped by dp_main_end) */
    char ctl[DP_MAIN_ENDPOINT_MAX]; /* control endpoint */
} dp_main_t;

/* Signals, configuration, log, SIGPIPE, MariaDB library. Returns DP_MAIN_GO or the exit code
   (0 after --help; 71 or 78 after printing the problem to stderr; m->cfg is then NULL). */
int dp_main_config(dp_main_t *m, int argc, char **argv);

/* CURVE keys, control socket, /metrics, drain deadline. Returns DP_MAIN_GO or the exit code
   (after printing the problem); call dp_main_end either way. */
int dp_main_start(dp_main_t *m);

/* CURVE keys for the service (NULL when DP_CURVE is off or the keys were not derived). */
const dp_zmq_keys_t *dp_main_keys(const dp_main_t *m);

/* Prints "<name>: <what>: <err text>" to stderr and returns code. */
int dp_main_fail(const dp_main_t *m, int code, const char *what, const dp_err_t *err);

/* Runs the daemon loop until STOPPED: 0 after a clean drain, 1 when the deadline passed. */
int dp_main_run(dp_main_t *m);

/* Stops /metrics, the daemon, the ZAP handler; wipes the keys; frees the configuration;
   mysql_library_end when db. Destroy the service first. Safe to call more than once. */
void dp_main_end(dp_main_t *m);

#endif
