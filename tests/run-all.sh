#!/usr/bin/env bash
# run-all.sh - what `make test` runs: format-check, build (-Wall -Wextra), unit tests,
# unit tests under ASan+UBSan and under valgrind memcheck, integration tests against real servers.
# Last line: the summed "N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
total_pass=0
total_fail=0
steps_failed=()

count()  # LOGFILE: add the runner's closing counts
{
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -n "$line" ]; then
        total_pass=$((total_pass + $(echo "$line" | awk '{print $1}')))
        total_fail=$((total_fail + $(echo "$line" | awk '{print $3}')))
    fi
}

step()  # NAME CMD...
{
    local name=$1
    shift
    echo "== $name"
    local log
    log=$(mktemp /tmp/dp-step.XXXXXX)
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    count "$log"
    if [ "$rc" -ne 0 ]; then
        steps_failed+=("$name")
        # a step that failed before its runner could count (e.g. a build error) counts once
        grep -qE '^[0-9]+ passed, [0-9]+ failed' "$log" || total_fail=$((total_fail + 1))
    fi
    rm -f "$log"
    return "$rc"
}

step format-check make -s format-check
if step build make -s -j2 all; then
    step unit ./build/tests/unit_run
    step unit-sanitizers bash -c 'make -s -j2 SAN=address,undefined O=1 build/san/tests/unit_run &&
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build/san/tests/unit_run'
    step unit-valgrind make -s memcheck
    step integration bash tests/integration/run.sh
fi
[ ${#steps_failed[@]} -gt 0 ] && echo "failed steps: ${steps_failed[*]}"
echo "$total_pass passed, $total_fail failed"
[ ${#steps_failed[@]} -eq 0 ]
