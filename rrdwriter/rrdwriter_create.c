/*  rrdwriter_create.c - local creation of RRD files: librrd template per group, copied per file
    SPDX-License-Identifier: MIT */
#include "rrdwriter_create.h"

#include "dp_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rrd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_PATH_MAX    4096
#define S_ARG_MAX     128  /* bytes of one "DS:..." argument */
#define S_SPLIT_MIN   64   /* files of a pass worth a second thread */
#define S_FILE_MODE   0644 /* what rrd_create gives its files */
#define S_DIR_MODE    0755 /* what rrdcached's CREATE gives missing directories */
#define S_PROBE_AGE_S 10   /* the probe's last update: now - this */

struct rrdwriter_create {
    char *dir;                 /* RRD directory (absolute or as configured) */
    int dirfd;                 /* open on dir */
    int step_s;                /* step of new files */
    rrdwriter_def_rras_t rras; /* RRAs of new files */
    atomic_bool no_tmpfile;    /* O_TMPFILE or /proc linking unavailable: private temp names */
    atomic_uint seq;           /* unique template / temp names */
    int shared;                /* probe verdict: 1 shared, 0 not, -1 none */
    uint64_t generation;       /* connection generation of the verdict */
};

/* One thread's share of a pass: jobs order[lo..hi). */
typedef struct {
    rrdwriter_create_t *c;
    rrdwriter_create_job_t *jobs;
    const size_t *order;
    size_t lo, hi;
    size_t created; /* out */
} s_part_t;

//  --------------------------------------------------------------------------
//  Helpers

static void s_fail(rrdwriter_create_job_t *j, const char *what, int errnum)
{
    j->status = RRDWRITER_CREATE_FAILED;
    snprintf(j->error, sizeof j->error, "%s: %s", what, strerror(errnum));
}

static int s_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads a whole file into a new buffer. Returns it (caller frees) or NULL (errno set). */
static char *s_slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && (buf = malloc((size_t)st.st_size))) {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got != (size_t)st.st_size) {
            free(buf);
            buf = NULL;
            errno = EIO;
        }
        *len = got;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return buf;
}

/* mkdir -p of the relative directory rel under the RRD directory. Returns 0 or -1 (errno). */
static int s_mkdirs(rrdwriter_create_t *c, const char *rel)
{
    char buf[S_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", rel);
    for (char *p = buf;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (buf[0] && mkdirat(c->dirfd, buf, S_DIR_MODE) != 0 && errno != EEXIST)
            return -1;
        if (!saved)
            return 0;
        *p = saved;
    }
}

//  --------------------------------------------------------------------------
//  Placing one file

/* Links fd (an O_TMPFILE) at path. Returns 0, or -1 (errno; EEXIST: a file is there). */
static int s_link_tmpfile(rrdwriter_create_t *c, int fd, const char *path)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, c->dirfd, path, AT_SYMLINK_FOLLOW);
}

/* Fallback: a private temporary name beside the file, renamed without replacing. */
static void s_place_named(rrdwriter_create_t *c, rrdwriter_create_job_t *j, const char *dir,
                          const char *bytes, size_t len)
{
    char tmp[S_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.dptmp-%d-%u", dir, (int)getpid(), atomic_fetch_add(&c->seq, 1));
    int fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_FILE_MODE);
    if (fd < 0 && errno == ENOENT && s_mkdirs(c, dir) == 0)
        fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_FILE_MODE);
    if (fd < 0)
        return s_fail(j, "create", errno);
    int rc = s_write_all(fd, bytes, len);
    int werr = errno;
    if (close(fd) != 0 && rc == 0)
        rc = -1, werr = errno;
    if (rc == 0) {
        rc = renameat2(c->dirfd, tmp, c->dirfd, j->path, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) /* no RENAME_NOREPLACE here */
            rc = linkat(c->dirfd, tmp, c->dirfd, j->path, 0);
        werr = errno;
    }
    unlinkat(c->dirfd, tmp, 0);
    if (rc == 0)
        j->status = RRDWRITER_CREATE_DONE;
    else if (werr == EEXIST)
        j->status = RRDWRITER_CREATE_EXISTS;
    else
        s_fail(j, "write", werr);
}

/* Creates j->path holding bytes, atomically and never over an existing file. */
static void s_place(rrdwriter_create_t *c, rrdwriter_create_job_t *j, const char *bytes, size_t len)
{
    char dir[S_PATH_MAX];
    const char *slash = strrchr(j->path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - j->path) : 1, slash ? j->path : ".");
    if (atomic_load(&c->no_tmpfile))
        return s_place_named(c, j, dir, bytes, len);
    int fd = openat(c->dirfd, dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, S_FILE_MODE);
    if (fd < 0 && errno == ENOENT && s_mkdirs(c, dir) == 0)
        fd = openat(c->dirfd, dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, S_FILE_MODE);
    if (fd < 0) {
        if (errno == EISDIR || errno == EOPNOTSUPP || errno == EINVAL) {
            atomic_store(&c->no_tmpfile, true);
            return s_place_named(c, j, dir, bytes, len);
        }
        return s_fail(j, "create", errno);
    }
    if (s_write_all(fd, bytes, len) != 0) {
        int werr = errno;
        close(fd);
        return s_fail(j, "write", werr);
    }
    int rc = s_link_tmpfile(c, fd, j->path);
    int lerr = errno;
    close(fd);
    if (rc == 0)
        j->status = RRDWRITER_CREATE_DONE;
    else if (lerr == EEXIST)
        j->status = RRDWRITER_CREATE_EXISTS;
    else if (lerr == ENOENT) { /* no /proc: link by a private name instead */
        atomic_store(&c->no_tmpfile, true);
        s_place_named(c, j, dir, bytes, len);
    } else {
        s_fail(j, "link", lerr);
    }
}

//  --------------------------------------------------------------------------
//  Templates: rrd_create_r2 once per (DS list, last update) of a pass

/* Makes the template of job j with librrd. Returns its bytes (caller frees) or NULL (err). */
static char *s_template(rrdwriter_create_t *c, const rrdwriter_create_job_t *j, size_t *len,
                        char *err, size_t err_size)
{
    char args[DP_MSG_DS_MAX][S_ARG_MAX];
    const char *argv[DP_MSG_DS_MAX + RRDWRITER_DEF_RRA_MAX];
    int argc = 0;
    if (j->n_ds < 1 || j->n_ds > DP_MSG_DS_MAX) {
        snprintf(err, err_size, "%d data sources", j->n_ds);
        return NULL;
    }
    for (int i = 0; i < j->n_ds; i++) {
        if (rrdwriter_def_ds_create_arg(&j->ds[i], c->step_s, args[i], S_ARG_MAX) != 0) {
            snprintf(err, err_size, "ds %s: cannot format", j->ds[i].name);
            return NULL;
        }
        argv[argc++] = args[i];
    }
    for (int i = 0; i < c->rras.count; i++)
        argv[argc++] = c->rras.rra[i];
    char path[S_PATH_MAX];
    snprintf(path, sizeof path, "%s/.distpoll-tmpl-%d-%u.rrd", c->dir, (int)getpid(),
             atomic_fetch_add(&c->seq, 1));
    if (rrd_create_r2(path, (unsigned long)c->step_s, (time_t)j->last_up_s, 0, NULL, NULL, argc,
                      argv) != 0) {
        snprintf(err, err_size, "rrd_create: %s", rrd_get_error());
        rrd_clear_error();
        unlink(path);
        return NULL;
    }
    char *bytes = s_slurp(path, len);
    if (!bytes)
        snprintf(err, err_size, "template read: %s", strerror(errno));
    unlink(path);
    return bytes;
}

static bool s_same_group(const rrdwriter_create_job_t *a, const rrdwriter_create_job_t *b)
{
    return a->last_up_s == b->last_up_s && a->n_ds == b->n_ds &&
           (a->ds == b->ds || memcmp(a->ds, b->ds, sizeof *a->ds * (size_t)a->n_ds) == 0);
}

static void *s_part_run(void *arg)
{
    s_part_t *p = arg;
    size_t i = p->lo;
    while (i < p->hi) {
        rrdwriter_create_job_t *first = &p->jobs[p->order[i]];
        size_t end = i + 1;
        while (end < p->hi && s_same_group(first, &p->jobs[p->order[end]]))
            end++;
        char err[RRDWRITER_CREATE_ERROR_MAX] = "";
        size_t len = 0;
        char *bytes = s_template(p->c, first, &len, err, sizeof err);
        for (size_t k = i; k < end; k++) {
            rrdwriter_create_job_t *j = &p->jobs[p->order[k]];
            if (!bytes) {
                j->status = RRDWRITER_CREATE_FAILED;
                snprintf(j->error, sizeof j->error, "%s", err);
                continue;
            }
            s_place(p->c, j, bytes, len);
            if (j->status == RRDWRITER_CREATE_DONE)
                p->created++;
        }
        free(bytes);
        i = end;
    }
    return NULL;
}

/* qsort context-free: jobs are compared through a file-static pointer set per call. */
static _Thread_local const rrdwriter_create_job_t *s_sort_jobs;

static int s_cmp(const void *x, const void *y)
{
    const rrdwriter_create_job_t *a = &s_sort_jobs[*(const size_t *)x];
    const rrdwriter_create_job_t *b = &s_sort_jobs[*(const size_t *)y];
    if (a->ds != b->ds)
        return (uintptr_t)a->ds < (uintptr_t)b->ds ? -1 : 1;
    if (a->last_up_s != b->last_up_s)
        return a->last_up_s < b->last_up_s ? -1 : 1;
    return a->n_ds - b->n_ds;
}

//  --------------------------------------------------------------------------
rrdwriter_create_t *rrdwriter_create_new(const char *rrd_dir, int step_s,
                                         const rrdwriter_def_rras_t *rras, dp_err_t *err)
{
    if (!rrd_dir || !*rrd_dir || step_s < 1 || !rras || rras->count < 1) {
        dp_err_set(err, DP_ERR_CONFIG, "create: no RRD directory, step or RRAs");
        return NULL;
    }
    int fd = open(rrd_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
        dp_err_set(err, DP_ERR_CONFIG, "RRD directory %s: %s", rrd_dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    rrdwriter_create_t *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(rrd_dir)))
        abort();
    c->dirfd = fd;
    c->step_s = step_s;
    c->rras = *rras;
    c->shared = -1;
    return c;
}

//  --------------------------------------------------------------------------
void rrdwriter_create_destroy(rrdwriter_create_t **p)
{
    if (!p || !*p)
        return;
    close((*p)->dirfd);
    free((*p)->dir);
    free(*p);
    *p = NULL;
}

//  --------------------------------------------------------------------------
const char *rrdwriter_create_dir(const rrdwriter_create_t *c)
{
    return c->dir;
}

//  --------------------------------------------------------------------------
size_t rrdwriter_create_files(rrdwriter_create_t *c, rrdwriter_create_job_t *jobs, size_t n)
{
    if (n == 0)
        return 0;
    size_t *order = malloc(n * sizeof *order);
    if (!order)
        abort();
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        jobs[i].status = RRDWRITER_CREATE_FAILED;
        jobs[i].error[0] = '\0';
    }
    s_sort_jobs = jobs;
    qsort(order, n, sizeof *order, s_cmp);
    /* split at group boundaries into up to RRDWRITER_CREATE_THREADS parts */
    int nparts = n >= S_SPLIT_MIN ? RRDWRITER_CREATE_THREADS : 1;
    s_part_t parts[RRDWRITER_CREATE_THREADS];
    pthread_t tids[RRDWRITER_CREATE_THREADS];
    bool started[RRDWRITER_CREATE_THREADS] = {false};
    size_t lo = 0;
    for (int k = 0; k < nparts; k++) {
        size_t hi = k == nparts - 1 ? n : n * (size_t)(k + 1) / (size_t)nparts;
        while (hi > lo && hi < n && s_same_group(&jobs[order[hi - 1]], &jobs[order[hi]]))
            hi++;
        parts[k] = (s_part_t){.c = c, .jobs = jobs, .order = order, .lo = lo, .hi = hi};
        lo = hi;
    }
    for (int k = 1; k < nparts; k++)
        started[k] =
            parts[k].lo < parts[k].hi && pthread_create(&tids[k], NULL, s_part_run, &parts[k]) == 0;
    s_part_run(&parts[0]);
    size_t created = parts[0].created;
    for (int k = 1; k < nparts; k++) {
        if (started[k])
            pthread_join(tids[k], NULL);
        else
            s_part_run(&parts[k]);
        created += parts[k].created;
    }
    free(order);
    return created;
}

//  --------------------------------------------------------------------------
int rrdwriter_create_probe_make(rrdwriter_create_t *c, char *name, size_t size, dp_err_t *err)
{
    snprintf(name, size, ".distpoll-probe-%d-%u.rrd", (int)getpid(), atomic_fetch_add(&c->seq, 1));
    char path[S_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    const char *argv[] = {"DS:probe:GAUGE:600:U:U", "RRA:AVERAGE:0.5:1:2"};
    if (rrd_create_r2(path, (unsigned long)c->step_s, time(NULL) - S_PROBE_AGE_S, 1, NULL, NULL, 2,
                      argv) != 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "probe %s: %s", path, rrd_get_error());
        rrd_clear_error();
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
void rrdwriter_create_probe_done(rrdwriter_create_t *c, const char *name, bool shared,
                                 uint64_t generation)
{
    unlinkat(c->dirfd, name, 0);
    c->shared = shared ? 1 : 0;
    c->generation = generation;
}

//  --------------------------------------------------------------------------
int rrdwriter_create_shared(const rrdwriter_create_t *c, uint64_t generation)
{
    return c->shared < 0 || c->generation != generation ? -1 : c->shared;
}

//  --------------------------------------------------------------------------
bool rrdwriter_create_absent(const rrdwriter_create_t *c, const char *path, uint64_t generation)
{
    return rrdwriter_create_shared(c, generation) == 1 &&
           faccessat(c->dirfd, path, F_OK, AT_EACCESS) != 0 && errno == ENOENT;
}
