/*  dp_ifmib.c - IF-MIB and HOST-RESOURCES-MIB value names, as stored in MariaDB
    SPDX-License-Identifier: MIT */
#include "dp_ifmib.h"

#include <stdio.h>

#define S_NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct {
    int type;         /* IANAifType value */
    const char *name; /* its name */
} s_if_type_t;

static const s_if_type_t s_if_types[] = {
    {1, "other"},        {6, "ethernetCsmacd"},    {23, "ppp"},     {24, "softwareLoopback"},
    {53, "propVirtual"}, {117, "gigabitEthernet"}, {131, "tunnel"}, {135, "l2vlan"},
    {136, "l3ipvlan"},   {161, "ieee8023adLag"},
};

//  --------------------------------------------------------------------------
const char *dp_ifmib_type_name(int type, char *buf, size_t size)
{
    for (int i = 0; i < S_NELEM(s_if_types); i++)
        if (s_if_types[i].type == type)
            return s_if_types[i].name;
    snprintf(buf, size, "%d", type);
    return buf;
}

//  --------------------------------------------------------------------------
const char *dp_ifmib_status_name(int status)
{
    static const char *const names[] = {NULL,      "up",      "down",       "testing",
                                        "unknown", "dormant", "notPresent", "lowerLayerDown"};
    return status > 0 && status < S_NELEM(names) ? names[status] : NULL;
}

//  --------------------------------------------------------------------------
const char *dp_ifmib_storage_type_name(int type)
{
    static const char *const names[] = {
        "hrStorageOther",         "hrStorageOther",       "hrStorageRam",
        "hrStorageVirtualMemory", "hrStorageFixedDisk",   "hrStorageRemovableDisk",
        "hrStorageFloppyDisk",    "hrStorageCompactDisc", "hrStorageRamDisk",
        "hrStorageFlashMemory",   "hrStorageNetworkDisk"};
    return type > 0 && type < S_NELEM(names) ? names[type] : "hrStorageOther";
}
