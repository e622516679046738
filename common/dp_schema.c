/*  dp_schema.c - versioned MariaDB schema migrations
    Each migration is a list of DDL statements written to be re-runnable
    (CREATE TABLE IF NOT EXISTS, ADD COLUMN IF NOT EXISTS): DDL commits implicitly,
    so a crash between a statement and its schema_migrations row must be harmless.
    Column names follow LibreNMS where it has one (devices, ports, bills, ...).
    No foreign keys: rows are removed by the application (ports.deleted etc.).
    SPDX-License-Identifier: MIT */
#include "dp_schema.h"
#include "dp_time.h"

#include <stdbool.h>
#include <stddef.h>

#define S_LOCK_NAME     "distpoll_migrate"
#define S_LOCK_TOTAL_MS 30000
#define S_LOCK_STEP_S   1 /* one GET_LOCK wait, kept well under the read timeout */
#define S_MAX_VERSIONS  256
#define S_TABLE_OPTS    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

/* Four columns per port counter, as LibreNMS keeps them. */
#define S_PORT_COUNTER(x)                                                                          \
    x " BIGINT UNSIGNED NULL, " x "_prev BIGINT UNSIGNED NULL, " x                                 \
      "_delta BIGINT UNSIGNED NULL, " x "_rate DOUBLE NULL, "
#define S_PORT_COUNTERS                                                                            \
    S_PORT_COUNTER("ifInOctets")                                                                   \
    S_PORT_COUNTER("ifOutOctets")                                                                  \
    S_PORT_COUNTER("ifInUcastPkts")                                                                \
    S_PORT_COUNTER("ifOutUcastPkts")                                                               \
    S_PORT_COUNTER("ifInErrors")                                                                   \
    S_PORT_COUNTER("ifOutErrors")

typedef struct {
    int version;             /* strictly increasing, never renumbered */
    const char *name;        /* short description stored in schema_migrations */
    const char *const *sqls; /* NULL-terminated DDL list */
} s_migration_t;

static const char *const s_v1_inventory[] = {
    "CREATE TABLE IF NOT EXISTS poller_groups ("
    " id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " group_name VARCHAR(255) NOT NULL,"
    " descr VARCHAR(255) NOT NULL DEFAULT '',"
    " UNIQUE KEY group_name (group_name))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS devices ("
    " device_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " hostname VARCHAR(128) NOT NULL,"
    " overwrite_ip VARCHAR(64) NULL COMMENT 'address to poll instead of resolving hostname',"
    " port SMALLINT UNSIGNED NOT NULL DEFAULT 161,"
    " transport VARCHAR(16) NOT NULL DEFAULT 'udp',"
    " snmpver VARCHAR(4) NOT NULL DEFAULT 'v2c' COMMENT 'v1, v2c or v3',"
    " community VARCHAR(255) NULL,"
    " authlevel VARCHAR(12) NULL COMMENT 'noAuthNoPriv, authNoPriv or authPriv',"
    " authname VARCHAR(64) NULL,"
    " authpass VARCHAR(64) NULL,"
    " authalgo VARCHAR(10) NULL COMMENT 'MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512',"
    " cryptopass VARCHAR(64) NULL,"
    " cryptoalgo VARCHAR(10) NULL COMMENT 'DES, AES, AES-192, AES-256',"
    " timeout INT UNSIGNED NULL COMMENT 'SNMP timeout, seconds; NULL = default',"
    " retries INT UNSIGNED NULL COMMENT 'SNMP retries; NULL = default',"
    " max_oids SMALLINT UNSIGNED NULL COMMENT 'OIDs per GET; NULL = default',"
    " poller_group INT UNSIGNED NOT NULL DEFAULT 0,"
    " disabled TINYINT(1) NOT NULL DEFAULT 0,"
    " status TINYINT(1) NOT NULL DEFAULT 0 COMMENT '1 = up',"
    " status_reason VARCHAR(50) NOT NULL DEFAULT '' COMMENT 'empty, snmp or icmp',"
    " last_polled DATETIME(3) NULL,"
    " last_polled_timetaken DOUBLE NULL COMMENT 'seconds',"
    " last_discovered DATETIME(3) NULL COMMENT 'NULL = discover now',"
    " last_discovered_timetaken DOUBLE NULL COMMENT 'seconds',"
    " sysName VARCHAR(128) NULL,"
    " sysDescr TEXT NULL,"
    " sysObjectID VARCHAR(128) NULL,"
    " os VARCHAR(32) NULL,"
    " uptime BIGINT UNSIGNED NULL COMMENT 'seconds',"
    " inserted DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),"
    " UNIQUE KEY hostname (hostname),"
    " KEY poller_group (poller_group),"
    " KEY status (status),"
    " KEY last_polled (last_polled))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS ports ("
    " port_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " device_id INT UNSIGNED NOT NULL,"
    " ifIndex INT UNSIGNED NOT NULL,"
    " ifName VARCHAR(255) NULL,"
    " ifDescr VARCHAR(255) NULL,"
    " ifAlias VARCHAR(255) NULL,"
    " ifType VARCHAR(64) NULL,"
    " ifSpeed BIGINT UNSIGNED NULL COMMENT 'bits per second',"
    " ifSpeed_prev BIGINT UNSIGNED NULL,"
    " ifMtu INT UNSIGNED NULL,"
    " ifPhysAddress VARCHAR(64) NULL,"
    " ifAdminStatus VARCHAR(16) NULL,"
    " ifAdminStatus_prev VARCHAR(16) NULL,"
    " ifOperStatus VARCHAR(16) NULL,"
    " ifOperStatus_prev VARCHAR(16) NULL,"
    " ifLastChange BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'sysUpTime ticks',"
    " " S_PORT_COUNTERS " poll_time DATETIME(3) NULL,"
    " poll_prev DATETIME(3) NULL,"
    " poll_period DOUBLE NULL COMMENT 'seconds',"
    " disabled TINYINT(1) NOT NULL DEFAULT 0,"
    " deleted TINYINT(1) NOT NULL DEFAULT 0,"
    " UNIQUE KEY device_ifIndex (device_id, ifIndex),"
    " KEY ifName (device_id, ifName),"
    " KEY deleted (deleted))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS processors ("
    " processor_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " device_id INT UNSIGNED NOT NULL,"
    " hrDeviceIndex INT UNSIGNED NULL,"
    " processor_index VARCHAR(32) NOT NULL COMMENT 'hrDeviceIndex or vendor index',"
    " processor_type VARCHAR(32) NOT NULL COMMENT 'hr or vendor MIB',"
    " processor_descr VARCHAR(255) NOT NULL DEFAULT '',"
    " processor_usage DOUBLE NULL COMMENT 'load, percent',"
    " updated_at DATETIME(3) NULL,"
    " deleted TINYINT(1) NOT NULL DEFAULT 0,"
    " UNIQUE KEY device_processor (device_id, processor_type, processor_index))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS storage ("
    " storage_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " device_id INT UNSIGNED NOT NULL,"
    " storage_mib VARCHAR(16) NOT NULL DEFAULT 'hrstorage',"
    " storage_index INT UNSIGNED NOT NULL COMMENT 'hrStorageIndex',"
    " storage_type VARCHAR(64) NULL,"
    " storage_descr VARCHAR(255) NOT NULL DEFAULT '',"
    " storage_units INT UNSIGNED NOT NULL DEFAULT 1 COMMENT 'bytes per allocation unit',"
    " storage_size BIGINT UNSIGNED NULL COMMENT 'bytes',"
    " storage_used BIGINT UNSIGNED NULL COMMENT 'bytes',"
    " storage_free BIGINT UNSIGNED NULL COMMENT 'bytes',"
    " storage_perc DOUBLE NULL COMMENT 'used, percent',"
    " updated_at DATETIME(3) NULL,"
    " deleted TINYINT(1) NOT NULL DEFAULT 0,"
    " UNIQUE KEY device_storage (device_id, storage_mib, storage_index))" S_TABLE_OPTS,
    NULL,
};

static const char *const s_v2_cluster[] = {
    "CREATE TABLE IF NOT EXISTS settings ("
    " name VARCHAR(64) NOT NULL PRIMARY KEY,"
    " value VARCHAR(255) NOT NULL,"
    " updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS nodes ("
    " id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " node_id VARCHAR(128) NOT NULL,"
    " poller_name VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'hostname',"
    " poller_version VARCHAR(255) NOT NULL DEFAULT '',"
    " poller_groups VARCHAR(255) NULL COMMENT 'CSV; NULL = settings.distributed_poller_group',"
    " last_report DATETIME(3) NULL,"
    " master TINYINT(1) NOT NULL DEFAULT 0,"
    " UNIQUE KEY node_id (node_id))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS node_stats ("
    " id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " node_id VARCHAR(128) NOT NULL,"
    " stage VARCHAR(32) NOT NULL COMMENT 'scheduler, poller, discoverer, biller, rrdwriter',"
    " depth INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'jobs waiting',"
    " devices INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'jobs done since last report',"
    " worker_seconds DOUBLE NOT NULL DEFAULT 0,"
    " workers INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'configured workers',"
    " frequency INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'seconds',"
    " last_report DATETIME(3) NULL,"
    " UNIQUE KEY node_stage (node_id, stage))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS leadership ("
    " name VARCHAR(64) NOT NULL PRIMARY KEY COMMENT 'scheduler, biller, ...',"
    " epoch BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'fencing epoch, only grows',"
    " holder VARCHAR(128) NULL COMMENT 'node_id of the last leader',"
    " updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))" S_TABLE_OPTS,
    NULL,
};

static const char *const s_v3_billing[] = {
    "CREATE TABLE IF NOT EXISTS bills ("
    " bill_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " bill_name VARCHAR(255) NOT NULL,"
    " bill_type VARCHAR(8) NOT NULL DEFAULT 'cdr' COMMENT 'cdr or quota',"
    " bill_cdr BIGINT UNSIGNED NULL COMMENT 'committed rate, bits per second',"
    " bill_day TINYINT UNSIGNED NOT NULL DEFAULT 1 COMMENT 'anniversary day',"
    " bill_quota BIGINT UNSIGNED NULL COMMENT 'bytes',"
    " rate_95th_in DOUBLE NOT NULL DEFAULT 0,"
    " rate_95th_out DOUBLE NOT NULL DEFAULT 0,"
    " rate_95th DOUBLE NOT NULL DEFAULT 0,"
    " dir_95th VARCHAR(3) NOT NULL DEFAULT 'in' COMMENT 'in, out or agg',"
    " total_data BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'bytes',"
    " total_data_in BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " total_data_out BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " rate_average_in DOUBLE NOT NULL DEFAULT 0,"
    " rate_average_out DOUBLE NOT NULL DEFAULT 0,"
    " rate_average DOUBLE NOT NULL DEFAULT 0,"
    " bill_last_calc DATETIME(3) NULL,"
    " bill_custid VARCHAR(64) NOT NULL DEFAULT '',"
    " bill_ref VARCHAR(64) NOT NULL DEFAULT '',"
    " bill_notes VARCHAR(256) NOT NULL DEFAULT '',"
    " bill_autoadded TINYINT(1) NOT NULL DEFAULT 0)" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS bill_ports ("
    " id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " bill_id INT UNSIGNED NOT NULL,"
    " port_id INT UNSIGNED NOT NULL,"
    " bill_port_autoadded TINYINT(1) NOT NULL DEFAULT 0,"
    " UNIQUE KEY bill_port (bill_id, port_id),"
    " KEY port_id (port_id))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS bill_port_counters ("
    " port_id INT UNSIGNED NOT NULL,"
    " bill_id INT UNSIGNED NOT NULL,"
    " `timestamp` DATETIME(3) NOT NULL,"
    " in_counter BIGINT UNSIGNED NULL,"
    " in_delta BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " out_counter BIGINT UNSIGNED NULL,"
    " out_delta BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " PRIMARY KEY (port_id, bill_id))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS bill_data ("
    " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " bill_id INT UNSIGNED NOT NULL,"
    " `timestamp` DATETIME(3) NOT NULL,"
    " period INT UNSIGNED NOT NULL COMMENT 'seconds',"
    " delta BIGINT UNSIGNED NOT NULL COMMENT 'bytes',"
    " in_delta BIGINT UNSIGNED NOT NULL,"
    " out_delta BIGINT UNSIGNED NOT NULL,"
    " UNIQUE KEY bill_timestamp (bill_id, `timestamp`))" S_TABLE_OPTS,

    "CREATE TABLE IF NOT EXISTS bill_history ("
    " bill_hist_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " bill_id INT UNSIGNED NOT NULL,"
    " updated DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),"
    " bill_datefrom DATETIME(3) NOT NULL,"
    " bill_dateto DATETIME(3) NOT NULL,"
    " bill_type VARCHAR(8) NOT NULL,"
    " bill_allowed BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " bill_used BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " bill_overuse BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " bill_percent DECIMAL(10,2) NOT NULL DEFAULT 0,"
    " rate_95th_in DOUBLE NOT NULL DEFAULT 0,"
    " rate_95th_out DOUBLE NOT NULL DEFAULT 0,"
    " rate_95th DOUBLE NOT NULL DEFAULT 0,"
    " dir_95th VARCHAR(3) NOT NULL DEFAULT 'in',"
    " rate_average DOUBLE NOT NULL DEFAULT 0,"
    " rate_average_in DOUBLE NOT NULL DEFAULT 0,"
    " rate_average_out DOUBLE NOT NULL DEFAULT 0,"
    " traf_in BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " traf_out BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " traf_total BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    " bill_peak_in DOUBLE NULL,"
    " bill_peak_out DOUBLE NULL,"
    " UNIQUE KEY bill_period (bill_id, bill_datefrom, bill_dateto))" S_TABLE_OPTS,
    NULL,
};

static const char *const s_v4_poller[] = {
    "ALTER TABLE devices ADD COLUMN IF NOT EXISTS poll_epoch BIGINT UNSIGNED NOT NULL DEFAULT 0"
    " COMMENT 'fencing epoch of the last poll written; older jobs are refused'",

    "ALTER TABLE ports"
    " ADD COLUMN IF NOT EXISTS ifHC SMALLINT UNSIGNED NULL"
    " COMMENT 'bit per counter read from a 64-bit (HC) column, poller_ctr_t order',"
    " ADD COLUMN IF NOT EXISTS ifInDiscards BIGINT UNSIGNED NULL,"
    " ADD COLUMN IF NOT EXISTS ifInDiscards_rate DOUBLE NULL,"
    " ADD COLUMN IF NOT EXISTS ifOutDiscards BIGINT UNSIGNED NULL,"
    " ADD COLUMN IF NOT EXISTS ifOutDiscards_rate DOUBLE NULL,"
    " ADD COLUMN IF NOT EXISTS ifInUnknownProtos BIGINT UNSIGNED NULL,"
    " ADD COLUMN IF NOT EXISTS ifInUnknownProtos_rate DOUBLE NULL,"
    " ADD COLUMN IF NOT EXISTS ifInMulticastPkts BIGINT UNSIGNED NULL,"
    " ADD COLUMN IF NOT EXISTS ifInMulticastPkts_rate DOUBLE NULL,"
    " ADD COLUMN IF NOT EXISTS ifOutMulticastPkts BIGINT UNSIGNED NULL,"
    " ADD COLUMN IF NOT EXISTS ifOutMulticastPkts_rate DOUBLE NULL,"
    " ADD COLUMN IF NOT EXISTS ifInBroadcastPkts BIGINT UNSIGNED NULL,"
    " ADD COLUMN IF NOT EXISTS ifInBroadcastPkts_rate DOUBLE NULL,"
    " ADD COLUMN IF NOT EXISTS ifOutBroadcastPkts BIGINT UNSIGNED NULL,"
    " ADD COLUMN IF NOT EXISTS ifOutBroadcastPkts_rate DOUBLE NULL",
    NULL,
};

static const char *const s_v5_biller[] = {
    "ALTER TABLE bill_port_counters"
    " ADD COLUMN IF NOT EXISTS counter_bits TINYINT UNSIGNED NOT NULL DEFAULT 64"
    " COMMENT '32 (ifInOctets) or 64 (ifHCInOctets)',"
    " ADD COLUMN IF NOT EXISTS sys_uptime BIGINT UNSIGNED NULL"
    " COMMENT 'sysUpTime with the counters, centiseconds',"
    " ADD COLUMN IF NOT EXISTS slot DATETIME(3) NULL"
    " COMMENT 'billing interval the baseline closes'",

    "ALTER TABLE bill_data ADD COLUMN IF NOT EXISTS interpolated TINYINT(1) NOT NULL DEFAULT 0"
    " COMMENT '1 = a share of a gap spread evenly over the intervals it covers'",
    NULL,
};

static const char *const s_v6_discoverer[] = {
    "ALTER TABLE devices"
    " ADD COLUMN IF NOT EXISTS sysContact TEXT NULL,"
    " ADD COLUMN IF NOT EXISTS sysLocation TEXT NULL,"
    " ADD COLUMN IF NOT EXISTS discovery_error VARCHAR(255) NULL"
    " COMMENT 'why the last discovery failed or was partial; NULL = complete'",
    NULL,
};

/* Append only; never edit an applied migration, add a new one. */
static const s_migration_t s_migrations[] = {
    {1, "inventory: poller_groups devices ports processors storage", s_v1_inventory},
    {2, "cluster: settings nodes node_stats leadership", s_v2_cluster},
    {3, "billing: bills bill_ports bill_port_counters bill_data bill_history", s_v3_billing},
    {4, "poller: devices.poll_epoch, ports HC mask and discard/multicast/broadcast counters",
     s_v4_poller},
    {5, "biller: counter width, uptime and slot baselines; interpolated bill_data", s_v5_biller},
    {6, "discoverer: devices.sysContact, sysLocation, discovery_error", s_v6_discoverer},
};

#define S_NMIGRATIONS ((int)(sizeof s_migrations / sizeof s_migrations[0]))

static const char *s_create_registry =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT UNSIGNED NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))" S_TABLE_OPTS;

//  Takes the migration lock, waiting up to S_LOCK_TOTAL_MS in steps below the read timeout.
static int s_lock(dp_db_t *db, dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(db, "SELECT GET_LOCK(?, ?)", 0, err);
    if (!s)
        return -1;
    int64_t deadline = dp_time_mono_ms() + S_LOCK_TOTAL_MS;
    while (true) {
        if (dp_db_query(s, err, "si", S_LOCK_NAME, (int64_t)S_LOCK_STEP_S) != 0)
            return -1;
        int granted = dp_db_fetch(s) == 1 && dp_db_col_int(s, 0) == 1;
        while (dp_db_fetch(s) == 1)
            ;
        if (granted)
            return 0;
        if (dp_time_mono_ms() >= deadline)
            return dp_err_set(err, DP_ERR_BUSY,
                              "schema lock '%s' held by another node for %d s; try again",
                              S_LOCK_NAME, S_LOCK_TOTAL_MS / 1000);
    }
}

static void s_unlock(dp_db_t *db)
{
    dp_db_stmt_t *s = dp_db_cached(db, "SELECT RELEASE_LOCK(?)", 0, NULL);
    if (s && dp_db_query(s, NULL, "s", S_LOCK_NAME) == 0)
        while (dp_db_fetch(s) == 1)
            ;
}

//  Marks in have[] the versions recorded in schema_migrations.
static int s_load_applied(dp_db_t *db, bool *have, dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(db, "SELECT version FROM schema_migrations", 0, err);
    if (!s || dp_db_query(s, err, NULL) != 0)
        return -1;
    int rc;
    while ((rc = dp_db_fetch(s)) == 1) {
        int64_t v = dp_db_col_int(s, 0);
        if (v > 0 && v < S_MAX_VERSIONS)
            have[v] = true;
    }
    return rc < 0 ? dp_err_set(err, DP_ERR_DB, "reading schema_migrations failed") : 0;
}

//  Applies one migration; refuses to go on if the connection (and with it the lock)
//  was replaced since the lock was taken.
static int s_apply(dp_db_t *db, const s_migration_t *m, uint64_t reconnects, dp_err_t *err)
{
    for (const char *const *sql = m->sqls; *sql; sql++) {
        if (dp_db_reconnects(db) != reconnects)
            return dp_err_set(err, DP_ERR_DB,
                              "migration %d (%s): connection lost while holding the schema "
                              "lock; run the migration again",
                              m->version, m->name);
        dp_err_t e;
        dp_err_clear(&e);
        if (dp_db_exec_sql(db, *sql, &e) != 0)
            return dp_err_set(err, e.code, "migration %d (%s): %s", m->version, m->name, e.text);
    }
    dp_db_stmt_t *s = dp_db_cached(
        db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, NOW(3))", 0,
        err);
    if (!s || dp_db_exec(s, err, "is", (int64_t)m->version, m->name) != 0)
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_schema_migrate(dp_db_t *db, int *applied, dp_err_t *err)
{
    bool have[S_MAX_VERSIONS] = {false};
    int count = 0;
    if (applied)
        *applied = 0;
    if (s_lock(db, err) != 0)
        return -1;
    uint64_t reconnects = dp_db_reconnects(db);
    int rc = dp_db_exec_sql(db, s_create_registry, err);
    if (rc == 0)
        rc = s_load_applied(db, have, err);
    for (int i = 0; rc == 0 && i < S_NMIGRATIONS; i++) {
        if (have[s_migrations[i].version])
            continue;
        rc = s_apply(db, &s_migrations[i], reconnects, err);
        if (rc == 0)
            count++;
    }
    s_unlock(db);
    if (applied)
        *applied = count;
    return rc;
}

//  --------------------------------------------------------------------------
int dp_schema_version(dp_db_t *db, dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(db,
                                   "SELECT COUNT(*) FROM information_schema.tables"
                                   " WHERE table_schema = DATABASE()"
                                   " AND table_name = 'schema_migrations'",
                                   DP_DB_IDEMPOTENT, err);
    if (!s || dp_db_query(s, err, NULL) != 0)
        return -1;
    int64_t exists = dp_db_fetch(s) == 1 ? dp_db_col_int(s, 0) : 0;
    while (dp_db_fetch(s) == 1)
        ;
    if (!exists)
        return 0;
    s = dp_db_cached(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                     DP_DB_IDEMPOTENT, err);
    if (!s || dp_db_query(s, err, NULL) != 0)
        return -1;
    int64_t v = dp_db_fetch(s) == 1 ? dp_db_col_int(s, 0) : 0;
    while (dp_db_fetch(s) == 1)
        ;
    return (int)v;
}

//  --------------------------------------------------------------------------
int dp_schema_latest(void)
{
    return s_migrations[S_NMIGRATIONS - 1].version;
}

//  --------------------------------------------------------------------------
const char *dp_schema_name(int version)
{
    for (int i = 0; i < S_NMIGRATIONS; i++)
        if (s_migrations[i].version == version)
            return s_migrations[i].name;
    return NULL;
}
