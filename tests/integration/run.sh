#!/usr/bin/env bash
# run.sh - runs every tests/integration/test_*.sh (or those matching $1), each with a
# deadline; a test passes when it exits 0. Last line: "N passed, N failed".
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
failures=()
for t in tests/integration/test_*.sh; do
    [ -n "${1:-}" ] && [[ "$t" != *"$1"* ]] && continue
    name=$(basename "$t" .sh)
    start=$SECONDS
    log=$(mktemp /tmp/dp-it.XXXXXX)
    if timeout -k 10 "${DP_IT_TIMEOUT:-300}" bash "$t" >"$log" 2>&1 </dev/null; then
        passed=$((passed + 1))
        echo "ok   $name ($((SECONDS - start))s)"
        [ -n "${DP_VERBOSE:-}" ] && cat "$log"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "FAIL $name ($((SECONDS - start))s)"
        # the test's own failure lines first: the tail is often the servers' logs
        grep -E '^(FAIL|not ok|.*FAIL: |.*check\(s\) failed)' "$log" | head -n 20 | sed 's/^/  > /'
        sed 's/^/    /' "$log" | tail -n 200
    fi
    rm -f "$log"
done
[ $failed -gt 0 ] && echo "integration failures: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
