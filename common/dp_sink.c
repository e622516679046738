/*  dp_sink.c - worker side of the metrics path (stub until implemented)
    SPDX-License-Identifier: MIT */
#include "dp_sink.h"
