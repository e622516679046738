/*  test_biller_sample.c - biller_sample against the in-process SNMP simulator: HC counters,
    the 32-bit fallback, a missing port, SNMPv1, an agent that never answers.
    SPDX-License-Identifier: MIT */
#include "../../biller/biller_sample.h"
#include "dp_test.h"
#include "dp_time.h"
#include "../../simulator/sim_server.h"
#include "../../simulator/sim_world.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    sim_world_t *world;
    sim_server_t *server;
    pthread_t thread;
    atomic_bool stop;
} s_sim_t;

static void *s_serve(void *arg)
{
    s_sim_t *sim = arg;
    sim_server_run(sim->server, &sim->stop);
    return NULL;
}

static int s_sim_start(s_sim_t *sim)
{
    memset(sim, 0, sizeof *sim);
    sim->world = sim_world_new(1, 1700000000000, dp_time_wall_ms());
    if (!sim->world ||
        sim_world_add_profile(sim->world, "synthetic:ports=4,hc=1", NULL, NULL) != 0 ||
        sim_world_add_profile(sim->world, "127.0.2.0/24=synthetic:ports=4,hc=0", NULL, NULL) != 0)
        return -1;
    sim->server = sim_server_new(sim->world, "127.0.0.1", 0, false, NULL);
    if (!sim->server)
        return -1;
    atomic_store(&sim->stop, false);
    return pthread_create(&sim->thread, NULL, s_serve, sim) == 0 ? 0 : -1;
}

static void s_sim_stop(s_sim_t *sim)
{
    atomic_store(&sim->stop, true);
    pthread_join(sim->thread, NULL);
    sim_server_destroy(&sim->server);
    sim_world_destroy(&sim->world);
}

static biller_device_t s_dev(const char *host, int port, const char *ver)
{
    biller_device_t d;
    memset(&d, 0, sizeof d);
    d.device_id = 1;
    snprintf(d.host, sizeof d.host, "%s", host);
    d.port = port;
    snprintf(d.snmpver, sizeof d.snmpver, "%s", ver);
    snprintf(d.community, sizeof d.community, "public");
    d.timeout_ms = 300;
    d.retries = 0;
    return d;
}

DP_TEST(biller_sample_hc_fallback_and_missing)
{
    biller_sample_init();
    s_sim_t sim;
    CHECK(s_sim_start(&sim) == 0);
    int port = sim_server_port(sim.server);
    /* the server listens on 127.0.0.1 only: that address is an HC device */
    biller_device_t dev = s_dev("127.0.0.1", port, "v2c");
    biller_port_read_t rd[3] = {{.if_index = 1}, {.if_index = 2}, {.if_index = 99}};
    uint32_t up = 0;
    bool has_up = false;
    int64_t at = 0;
    dp_err_t err = {0};
    int rc = biller_sample_read(&dev, rd, 3, &up, &has_up, &at, &err);
    s_sim_stop(&sim);
    CHECK_EQ_INT(rc, 0);
    CHECK(has_up);
    CHECK(at > 0);
    CHECK(rd[0].ok && rd[1].ok);
    CHECK_EQ_INT(rd[0].bits, 64);
    CHECK(rd[0].in > 0 && rd[0].out > 0);
    CHECK(!rd[2].ok); /* no ifIndex 99: not billed, the others still are */
}

DP_TEST(biller_sample_32bit_device_and_v1)
{
    biller_sample_init();
    s_sim_t sim;
    memset(&sim, 0, sizeof sim);
    sim.world = sim_world_new(1, 1700000000000, dp_time_wall_ms());
    CHECK(sim.world);
    CHECK(sim_world_add_profile(sim.world, "synthetic:ports=4,hc=0", NULL, NULL) == 0);
    sim.server = sim_server_new(sim.world, "127.0.0.1", 0, false, NULL);
    CHECK(sim.server);
    atomic_store(&sim.stop, false);
    CHECK(pthread_create(&sim.thread, NULL, s_serve, &sim) == 0);
    int port = sim_server_port(sim.server);
    biller_device_t dev = s_dev("127.0.0.1", port, "v2c");
    biller_port_read_t rd[2] = {{.if_index = 1}, {.if_index = 3}};
    uint32_t up = 0;
    bool has_up = false;
    int64_t at = 0;
    dp_err_t err = {0};
    int rc2 = biller_sample_read(&dev, rd, 2, &up, &has_up, &at, &err);
    biller_device_t v1 = s_dev("127.0.0.1", port, "v1");
    biller_port_read_t r1[1] = {{.if_index = 2}};
    int rc1 = biller_sample_read(&v1, r1, 1, &up, &has_up, &at, &err);
    s_sim_stop(&sim);
    CHECK_EQ_INT(rc2, 0);
    CHECK(rd[0].ok && rd[1].ok);
    CHECK_EQ_INT(rd[0].bits, 32); /* no ifHCInOctets: fell back to ifInOctets */
    CHECK(rd[0].in <= UINT32_MAX);
    CHECK_EQ_INT(rc1, 0);
    CHECK(r1[0].ok);
    CHECK_EQ_INT(r1[0].bits, 32);
    CHECK(has_up);
}

DP_TEST(biller_sample_timeout_marks_ports_failed)
{
    biller_sample_init();
    s_sim_t sim;
    CHECK(s_sim_start(&sim) == 0);
    int port = sim_server_port(sim.server);
    s_sim_stop(&sim); /* nothing listens there any more */
    biller_device_t dev = s_dev("127.0.0.1", port, "v2c");
    dev.timeout_ms = 100;
    biller_port_read_t rd[1] = {{.if_index = 1, .ok = true}};
    uint32_t up = 0;
    bool has_up = false;
    int64_t at = 0;
    dp_err_t err = {0};
    int64_t t0 = dp_time_mono_ms();
    CHECK_EQ_INT(biller_sample_read(&dev, rd, 1, &up, &has_up, &at, &err), -1);
    CHECK(dp_time_mono_ms() - t0 < 2000);
    CHECK(!rd[0].ok);
    CHECK(err.code == DP_ERR_TIMEOUT || err.code == DP_ERR_UNREACHABLE);
}
