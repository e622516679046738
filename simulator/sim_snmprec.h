/*  sim_snmprec.h - snmprec files (the snmpsim format) into simulator profiles
    One line per OID: OID|TAG|VALUE. TAG is the ASN.1 tag number: 2 Integer32,
    4 OCTET STRING, 5 NULL, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32,
    66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64. A trailing 'x' (4x, 64x,
    6x, ...) means VALUE is hex: the bytes themselves for string types, the text
    of the value for the others. A ':module' suffix on TAG is ignored. Lines that
    are empty or start with '#' are skipped. Files may be gzipped.
    Counter32/Counter64 values advance from the recorded value (see sim_counter.h);
    ifTable/ifXTable rows carry their ifIndex so port faults apply.
    SPDX-License-Identifier: MIT */
#ifndef SIM_SNMPREC_H
#define SIM_SNMPREC_H

#include "sim_profile.h"

#define SIM_SNMPREC_LINE_MAX 65536

/* Parses one line into p. Returns 1 when added, 0 when skipped (blank or comment),
   -1 on a malformed line (err says why). line may end with a newline. */
int sim_snmprec_parse_line(sim_profile_t *p, const char *line, dp_err_t *err);

/* Loads a plain or gzipped file into a new profile (sorted; caller owns it).
   NULL on error with err naming file and line. */
sim_profile_t *sim_snmprec_load(const char *path, dp_err_t *err);

/* Decodes hex text ("0a1B", optional "0x" prefix, spaces ignored) into out.
   Returns the number of bytes or -1. */
long sim_hex_decode(const char *text, size_t len, u_char *out, size_t cap);

#endif
