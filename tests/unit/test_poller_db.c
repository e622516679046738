/*  test_poller_db.c - poller_db's pure helpers: device text made valid UTF-8 before it is
    bound, rates rounded as the text statements stored them, and the stage SQL (one '?' per
    bulk type, every _prev assigned before its column).
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../poller/poller_db_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DP_TEST(poller_db_utf8_replaces_invalid_bytes)
{
    char out[64];
    CHECK_EQ_STR(poller_db_utf8(out, sizeof out, "ge-0/0/1 \xc3\xa9t\xc3\xa9"),
                 "ge-0/0/1 \xc3\xa9t\xc3\xa9");
    CHECK_EQ_STR(poller_db_utf8(out, sizeof out,
                                "a\xff"
                                "b\xc3"),
                 "a?b?");
    CHECK_EQ_STR(poller_db_utf8(out, sizeof out, "\xed\xa0\x80x"), "???x"); /* a surrogate */
    CHECK_EQ_STR(poller_db_utf8(out, sizeof out, "\xf0\x9f\x98\x80!"), "\xf0\x9f\x98\x80!");
    /* truncated on a character boundary, never inside one */
    CHECK_EQ_STR(poller_db_utf8(out, 5, "ab\xc3\xa9\xc3\xa9"), "ab\xc3\xa9");
    CHECK_EQ_STR(poller_db_utf8(out, 4, "ab\xc3\xa9"), "ab");
    CHECK_EQ_STR(poller_db_utf8(out, 1, "abc"), "");
}

//  The same DOUBLE as MariaDB parsing the text the old statements sent ("%.3f").
DP_TEST(poller_db_round_matches_text)
{
    const double vals[] = {0.0, 0.0004, 0.0005, 1.0 / 3, 2.5, 123456.7895, 9.999999, 1e12 / 7};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char text[64];
        uint64_t m = (uint64_t)(vals[i] * 1000.0 + 0.5);
        snprintf(text, sizeof text, "%llu.%03llu", (unsigned long long)(m / 1000),
                 (unsigned long long)(m % 1000));
        CHECK(poller_db_round(vals[i], 1000.0) == strtod(text, NULL));
    }
    CHECK(poller_db_round(-2.25, 1000.0) == -2.25); /* negative and huge: unrounded */
    CHECK(poller_db_round(3e15, 1000.0) == 3e15);
    CHECK(poller_db_round(33.333333, 100.0) == 33.33);
}

static int s_count(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

//  Position of needle in hay, or -1.
static long s_at(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? p - hay : -1;
}

DP_TEST(poller_db_stage_sql)
{
    poller_db_t db = {0};
    CHECK(poller_db_stage_init(&db) == 0);
    for (int id = 0; id < POLLER_STAGE_COUNT; id++) {
        char **sql = db.stage[id].sql;
        CHECK(s_count(sql[POLLER_STAGE_INSERT], '?') == (int)strlen(sql[POLLER_STAGE_TYPES]));
        CHECK(strstr(sql[POLLER_STAGE_CREATE], "CREATE TEMPORARY TABLE IF NOT EXISTS") != NULL);
        CHECK(strstr(sql[POLLER_STAGE_CREATE], "ENGINE=MEMORY") != NULL);
        CHECK(s_count(sql[POLLER_STAGE_UPDATE], '?') == 0);
        CHECK(s_count(sql[POLLER_STAGE_FALLBACK], '?') == 0);
    }
    const char *u = db.stage[POLLER_STAGE_PORTS].sql[POLLER_STAGE_UPDATE];
    static const char *const pairs[][2] = {
        {"p.ifSpeed_prev=", "p.ifSpeed=s."},
        {"p.ifOperStatus_prev=", "p.ifOperStatus=s."},
        {"p.poll_prev=p.poll_time", "p.poll_time=s."},
        {"p.ifInOctets_prev=p.ifInOctets", "p.ifInOctets=s."},
        {"p.ifOutErrors_prev=p.ifOutErrors", "p.ifOutErrors=s."},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        CHECK(s_at(u, pairs[i][0]) >= 0);
        CHECK(s_at(u, pairs[i][0]) < s_at(u, pairs[i][1]));
    }
    CHECK(strstr(db.stage[POLLER_STAGE_PORTS].sql[POLLER_STAGE_FALLBACK], "INSERT IGNORE") != NULL);
    poller_db_stage_free(&db);
    CHECK(db.stage[POLLER_STAGE_PORTS].sql[POLLER_STAGE_UPDATE] == NULL);
}
