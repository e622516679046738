#!/usr/bin/env bash
# test_compose.sh - the compose stacks are valid (docker-compose config), refuse to start
# without APP_KEY, scale per stage, and every distpoll service's environment is accepted by
# the real configuration loader (a typo in a key or a bad value would fail here, not in prod).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
DP=$B/distpoll

envf="$DP_TMP/compose.env"
printf 'APP_KEY=base64:0123456789abcdefghijklmnopqrstuv\nDB_PASSWORD=x\nDB_ROOT_PASSWORD=y\nREDIS_PASSWORD=z\nCENTRAL=192.0.2.10\n' >"$envf"
for f in compose/docker-compose.yml compose/docker-compose.node.yml; do
    docker-compose --env-file "$envf" -f "$f" config -q || fail "$f does not validate"
    grep -v '^APP_KEY' "$envf" >"$DP_TMP/noappkey.env"
    out=$(docker-compose --env-file "$DP_TMP/noappkey.env" -f "$f" config 2>&1) && fail "$f accepted a missing APP_KEY"
    grep -q "APP_KEY" <<<"$out" || fail "$f: missing APP_KEY not named: $out"
done
services=$(docker-compose --env-file "$envf" -f compose/docker-compose.yml config --services | sort | tr '\n' ' ')
for s in mariadb redis rrdcached migrate scheduler rrdwriter poller discoverer biller; do
    grep -qw "$s" <<<"$services" || fail "service $s missing from compose/docker-compose.yml ($services)"
done
# Scaling is per stage: no fixed container_name or host port on the scalable stages.
docker-compose --env-file "$envf" -f compose/docker-compose.yml config >"$DP_TMP/full.yml"
python3 - "$DP_TMP/full.yml" "$DP_TMP" <<'PY' || fail "compose environment check failed"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for name in ("poller", "discoverer", "scheduler", "rrdwriter", "biller"):
    svc = doc["services"][name]
    assert "container_name" not in svc, f"{name} has a container_name: it cannot scale"
    assert not svc.get("ports"), f"{name} publishes host ports: it cannot scale"
    env = dict(svc["environment"])
    env.setdefault("NODE_ID", name + "-1")   # the entrypoint defaults it to the host name
    with open(f"{sys.argv[2]}/{name}.env", "w") as out:
        for k, v in env.items():
            out.write(f"{k}={v}\n")
PY
for s in poller discoverer scheduler rrdwriter biller; do
    out=$(env -i PATH="$PATH" "$DP" --env-file "$DP_TMP/$s.env" config check 2>&1) ||
        fail "service $s: its environment is refused by distpoll's config loader: $out"
done
# The schedulers named in DP_SCHEDULERS / DP_RRDWRITER are services of the stack.
grep -q "DP_SCHEDULERS=tcp://scheduler:7710" "$DP_TMP/poller.env" || fail "poller does not reach the scheduler service"
grep -q "DP_RRDWRITER=tcp://rrdwriter:7720" "$DP_TMP/poller.env" || fail "poller does not reach the rrdwriter service"
[ -x compose/entrypoint.sh ] || fail "compose/entrypoint.sh is not executable"
echo "compose ok"
