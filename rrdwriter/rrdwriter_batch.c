/*  rrdwriter_batch.c - rrdcached client over its line protocol (BATCH, INFO, CREATE, ...)
    Blocking socket I/O bounded by poll() timeouts; replies are read through one line buffer.
    SPDX-License-Identifier: MIT */
#include "rrdwriter_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dp_time.h"

#define S_RBUF_SIZE   (256u << 10) /* reply buffer */
#define S_LINE_MAX    8192         /* longest reply line kept */
#define S_WINDOW_CMDS 64           /* single-line commands in flight */
#define S_WINDOW_INFO 4            /* INFO requests in flight (replies are long) */
#define S_HOST_MAX    256
#define S_CMD_MAX     4096

struct rrdwriter_batch {
    char *address;         /* as given */
    char *unix_path;       /* unix socket path, or NULL for TCP */
    char host[S_HOST_MAX]; /* TCP host */
    char port[16];         /* TCP port */
    int timeout_ms;        /* per call */
    int fd;                /* connected socket or -1 */
    char *rbuf;            /* received, not yet consumed bytes */
    size_t rstart;         /* first unconsumed byte */
    size_t rlen;           /* end of valid bytes */
    char line[S_LINE_MAX]; /* last line read */
};

//  --------------------------------------------------------------------------
//  Socket I/O

static int s_fail(rrdwriter_batch_t *b, dp_err_t *err, const char *what)
{
    int saved = errno;
    rrdwriter_batch_disconnect(b);
    return dp_err_set(err, DP_ERR_UNREACHABLE, "rrdcached %s: %s: %s", b->address, what,
                      saved ? strerror(saved) : "connection closed");
}

static int s_wait(rrdwriter_batch_t *b, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - dp_time_mono_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = b->fd, .events = events};
        int rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static int s_write_all(rrdwriter_batch_t *b, const char *data, size_t len, dp_err_t *err)
{
    int64_t deadline = dp_time_mono_ms() + b->timeout_ms;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(b->fd, data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += (size_t)n;
            deadline = dp_time_mono_ms() + b->timeout_ms; /* progress resets the clock */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (s_wait(b, POLLOUT, deadline) == 0)
                continue;
        }
        return s_fail(b, err, "send");
    }
    return 0;
}

/* Reads one line (without the newline) into b->line. Returns 0 or -1 (closed). */
static int s_read_line(rrdwriter_batch_t *b, dp_err_t *err)
{
    int64_t deadline = dp_time_mono_ms() + b->timeout_ms;
    for (;;) {
        char *nl = memchr(b->rbuf + b->rstart, '\n', b->rlen - b->rstart);
        if (nl) {
            size_t n = (size_t)(nl - (b->rbuf + b->rstart));
            size_t keep = n < S_LINE_MAX - 1 ? n : S_LINE_MAX - 1;
            memcpy(b->line, b->rbuf + b->rstart, keep);
            b->line[keep] = '\0';
            b->rstart += n + 1;
            return 0;
        }
        if (b->rstart > 0) { /* compact */
            memmove(b->rbuf, b->rbuf + b->rstart, b->rlen - b->rstart);
            b->rlen -= b->rstart;
            b->rstart = 0;
        }
        if (b->rlen == S_RBUF_SIZE) /* an absurd line: drop what we have of it */
            b->rlen = 0;
        ssize_t n = recv(b->fd, b->rbuf + b->rlen, S_RBUF_SIZE - b->rlen, MSG_DONTWAIT);
        if (n > 0) {
            b->rlen += (size_t)n;
            continue;
        }
        if (n == 0) {
            errno = 0;
            return s_fail(b, err, "recv");
        }
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && s_wait(b, POLLIN, deadline) == 0)
            continue;
        return s_fail(b, err, "recv");
    }
}

/* Reads a status line; sets *status and *text (points into b->line). Returns 0 or -1. */
static int s_read_status(rrdwriter_batch_t *b, int *status, const char **text, dp_err_t *err)
{
    if (s_read_line(b, err) != 0)
        return -1;
    char *end = NULL;
    long v = strtol(b->line, &end, 10);
    if (end == b->line) {
        errno = EPROTO;
        return s_fail(b, err, "garbled status line");
    }
    while (*end == ' ')
        end++;
    *status = (int)v;
    *text = end;
    return 0;
}

static int s_connect_unix(rrdwriter_batch_t *b)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(b->unix_path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, b->unix_path);
    b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->fd < 0)
        return -1;
    return connect(b->fd, (struct sockaddr *)&sa, sizeof sa);
}

static int s_connect_tcp(rrdwriter_batch_t *b)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(b->host, b->port, &hints, &res) != 0 || !res) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int rc = -1;
    for (struct addrinfo *ai = res; ai && rc != 0; ai = ai->ai_next) {
        if (b->fd >= 0)
            close(b->fd);
        b->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (b->fd >= 0)
            rc = connect(b->fd, ai->ai_addr, ai->ai_addrlen);
    }
    freeaddrinfo(res);
    return rc;
}

//  --------------------------------------------------------------------------
rrdwriter_batch_t *rrdwriter_batch_new(const char *address, int timeout_ms, dp_err_t *err)
{
    if (!address || !*address || timeout_ms < 1) {
        dp_err_set(err, DP_ERR_CONFIG, "rrdcached address missing");
        return NULL;
    }
    rrdwriter_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->fd = -1;
    b->timeout_ms = timeout_ms;
    b->address = strdup(address);
    b->rbuf = malloc(S_RBUF_SIZE);
    if (!b->address || !b->rbuf)
        abort();
    if (strncmp(address, "unix:", 5) == 0 || address[0] == '/') {
        b->unix_path = strdup(address[0] == '/' ? address : address + 5);
        if (!b->unix_path)
            abort();
    } else {
        const char *colon = strrchr(address, ':');
        size_t hlen = colon ? (size_t)(colon - address) : 0;
        if (!colon || hlen == 0 || hlen >= sizeof b->host || strlen(colon + 1) == 0 ||
            strlen(colon + 1) >= sizeof b->port) {
            dp_err_set(err, DP_ERR_CONFIG,
                       "rrdcached address '%.100s': expected unix:/path or "
                       "host:port",
                       address);
            rrdwriter_batch_destroy(&b);
            return NULL;
        }
        const char *h = address;
        if (h[0] == '[' && hlen > 2 && h[hlen - 1] == ']')
            h++, hlen -= 2;
        memcpy(b->host, h, hlen);
        strcpy(b->port, colon + 1);
    }
    return b;
}

//  --------------------------------------------------------------------------
void rrdwriter_batch_destroy(rrdwriter_batch_t **p)
{
    if (!p || !*p)
        return;
    rrdwriter_batch_t *b = *p;
    rrdwriter_batch_disconnect(b);
    free(b->address);
    free(b->unix_path);
    free(b->rbuf);
    free(b);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int rrdwriter_batch_connect(rrdwriter_batch_t *b, dp_err_t *err)
{
    rrdwriter_batch_disconnect(b);
    int rc = b->unix_path ? s_connect_unix(b) : s_connect_tcp(b);
    if (rc != 0) {
        int saved = errno;
        rrdwriter_batch_disconnect(b);
        return dp_err_set(err, DP_ERR_UNREACHABLE, "rrdcached %s: connect: %s", b->address,
                          strerror(saved));
    }
    return 0;
}

//  --------------------------------------------------------------------------
void rrdwriter_batch_disconnect(rrdwriter_batch_t *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    b->rstart = b->rlen = 0;
}

//  --------------------------------------------------------------------------
bool rrdwriter_batch_is_connected(const rrdwriter_batch_t *b)
{
    return b->fd >= 0;
}

//  --------------------------------------------------------------------------
int rrdwriter_batch_ping(rrdwriter_batch_t *b, dp_err_t *err)
{
    int status;
    const char *text;
    if (b->fd < 0)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "rrdcached %s: not connected", b->address);
    if (s_write_all(b, "PING\n", 5, err) != 0 || s_read_status(b, &status, &text, err) != 0)
        return -1;
    if (status != 0 || strcmp(text, "PONG") != 0) {
        errno = EPROTO;
        return s_fail(b, err, "unexpected PING answer");
    }
    return 0;
}

//  --------------------------------------------------------------------------
int rrdwriter_batch_flush(rrdwriter_batch_t *b, const char *file, dp_err_t *err)
{
    char cmd[S_CMD_MAX];
    int status;
    const char *text;
    if (b->fd < 0)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "rrdcached %s: not connected", b->address);
    int n = snprintf(cmd, sizeof cmd, "FLUSH %s\n", file);
    if (n < 0 || (size_t)n >= sizeof cmd) {
        dp_err_set(err, DP_ERR_PROTO, "file name too long");
        return 1;
    }
    if (s_write_all(b, cmd, (size_t)n, err) != 0 || s_read_status(b, &status, &text, err) != 0)
        return -1;
    if (status < 0) {
        dp_err_set(err, DP_ERR_NOTFOUND, "FLUSH %.100s: %.120s", file, text);
        return 1;
    }
    return 0;
}

/* Parses one INFO line into out. Lines of interest: "step 1 300", "last_update 1 T",
   "ds[NAME].index 1 I", "ds[NAME].type 2 DERIVE". */
static void s_info_line(const char *line, rrdwriter_batch_info_t *out)
{
    static const char *const types[] = {"GAUGE", "COUNTER", "DERIVE", "ABSOLUTE"};
    long long v;
    char name[64], what[16], val[32];
    if (sscanf(line, "step 1 %lld", &v) == 1)
        out->step_s = (int)v;
    else if (sscanf(line, "last_update 1 %lld", &v) == 1)
        out->last_update_s = v;
    else if (sscanf(line, "ds[%63[^]]].%15s %*d %31s", name, what, val) == 3 &&
             strlen(name) <= RRDWRITER_DEF_DS_NAME_MAX) {
        if (strcmp(what, "index") == 0) {
            long idx = strtol(val, NULL, 10);
            if (idx >= 0 && idx < RRDWRITER_BATCH_DS_MAX) {
                strcpy(out->ds_name[idx], name);
                if (idx + 1 > out->n_ds)
                    out->n_ds = (int)idx + 1;
            }
        } else if (strcmp(what, "type") == 0) {
            for (int i = 0; i < out->n_ds; i++) {
                if (strcmp(out->ds_name[i], name) != 0)
                    continue;
                for (int t = 0; t < 4; t++)
                    if (strcmp(val, types[t]) == 0)
                        out->ds_type[i] = (rrdwriter_def_ds_type_t)t;
            }
        }
    }
}

//  --------------------------------------------------------------------------
int rrdwriter_batch_info(rrdwriter_batch_t *b, const char *const *files, size_t n,
                         rrdwriter_batch_info_t *out, dp_err_t *err)
{
    if (b->fd < 0)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "rrdcached %s: not connected", b->address);
    for (size_t start = 0; start < n; start += S_WINDOW_INFO) {
        size_t end = start + S_WINDOW_INFO < n ? start + S_WINDOW_INFO : n;
        for (size_t i = start; i < end; i++) {
            char cmd[S_CMD_MAX];
            int len = snprintf(cmd, sizeof cmd, "INFO %s\n", files[i]);
            if (len < 0 || (size_t)len >= sizeof cmd)
                len = snprintf(cmd, sizeof cmd, "INFO /\n"); /* keeps replies in step */
            if (s_write_all(b, cmd, (size_t)len, err) != 0)
                return -1;
        }
        for (size_t i = start; i < end; i++) {
            int status;
            const char *text;
            memset(&out[i], 0, sizeof out[i]);
            if (s_read_status(b, &status, &text, err) != 0)
                return -1;
            out[i].exists = status > 0;
            for (int k = 0; k < status; k++) {
                if (s_read_line(b, err) != 0)
                    return -1;
                s_info_line(b->line, &out[i]);
            }
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
int rrdwriter_batch_commands(rrdwriter_batch_t *b, const char *const *lines, size_t n,
                             rrdwriter_batch_reply_fn *fn, void *arg, dp_err_t *err)
{
    if (b->fd < 0)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "rrdcached %s: not connected", b->address);
    for (size_t start = 0; start < n; start += S_WINDOW_CMDS) {
        size_t end = start + S_WINDOW_CMDS < n ? start + S_WINDOW_CMDS : n;
        for (size_t i = start; i < end; i++) {
            if (s_write_all(b, lines[i], strlen(lines[i]), err) != 0 ||
                s_write_all(b, "\n", 1, err) != 0)
                return -1;
        }
        for (size_t i = start; i < end; i++) {
            int status;
            const char *text;
            if (s_read_status(b, &status, &text, err) != 0)
                return -1;
            for (int k = 0; k < status; k++) /* multi-line answers are skipped */
                if (s_read_line(b, err) != 0)
                    return -1;
            if (fn)
                fn(arg, i, status, text);
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
int rrdwriter_batch_run(rrdwriter_batch_t *b, const char *text, size_t len, size_t n,
                        rrdwriter_batch_reply_fn *fn, void *arg, dp_err_t *err)
{
    int status;
    const char *msg;
    if (b->fd < 0)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "rrdcached %s: not connected", b->address);
    if (n == 0)
        return 0;
    /* pipelined: the commands follow "BATCH" at once (rrdcached reads them in order after its
       "0 Go ahead"), so a BATCH costs one round trip, not two */
    if (s_write_all(b, "BATCH\n", 6, err) != 0 || s_write_all(b, text, len, err) != 0 ||
        s_write_all(b, ".\n", 2, err) != 0 || s_read_status(b, &status, &msg, err) != 0)
        return -1;
    if (status != 0) {
        errno = EPROTO;
        return s_fail(b, err, "BATCH refused");
    }
    if (s_read_status(b, &status, &msg, err) != 0)
        return -1;
    if (status < 0 || strncmp(msg, "errors", 6) != 0) {
        errno = EPROTO;
        return s_fail(b, err, "garbled BATCH answer");
    }
    for (int k = 0; k < status; k++) {
        if (s_read_line(b, err) != 0)
            return -1;
        char *end = NULL;
        long cmdno = strtol(b->line, &end, 10);
        while (end && *end == ' ')
            end++;
        if (fn && cmdno >= 1 && (size_t)cmdno <= n)
            fn(arg, (size_t)cmdno - 1, -1, end ? end : "");
    }
    return status;
}

/* Number of decimal digits of u. */
static size_t s_digits(uint64_t u)
{
    size_t n = 1;
    for (; u >= 10000; u /= 10000)
        n += 4;
    return n + (u >= 10) + (u >= 100) + (u >= 1000);
}

/* Writes the decimal digits of u at p, back to front, two per step (32-bit arithmetic where
   it fits); returns the end. */
static char *s_put_u64(char *p, uint64_t u)
{
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    char *end = p + s_digits(u), *q = end;
    while (u > UINT32_MAX) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        *--q = pairs[2 * r + 1];
        *--q = pairs[2 * r];
    }
    uint32_t v = (uint32_t)u;
    while (v >= 100) {
        uint32_t r = v % 100;
        v /= 100;
        *--q = pairs[2 * r + 1];
        *--q = pairs[2 * r];
    }
    if (v >= 10) {
        *--q = pairs[2 * v + 1];
        *--q = pairs[2 * v];
    } else {
        *--q = (char)('0' + v);
    }
    return end;
}

//  --------------------------------------------------------------------------
char *rrdwriter_batch_put_values(char *p, int64_t ts, const double *v, size_t n)
{
    if (ts < 0)
        return NULL;
    p = s_put_u64(p, (uint64_t)ts);
    for (size_t i = 0; i < n; i++) {
        double d = v[i];
        *p++ = ':';
        if (isnan(d)) {
            *p++ = 'U';
        } else if (d >= 0 && d < 18446744073709551616.0 && d == (double)(uint64_t)d) {
            p = s_put_u64(p, (uint64_t)d);
        } else if (d < 0 && d > -9223372036854775808.0 && d == (double)(int64_t)d) {
            *p++ = '-';
            p = s_put_u64(p, (uint64_t)(-(int64_t)d));
        } else {
            return NULL;
        }
    }
    return p;
}
