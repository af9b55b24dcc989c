#!/usr/bin/env bash
# The demo: Redis, the exchange simulator, two workers and Flower on loopback, then
# `producer enqueue --symbol BTCUSDT --years 2 --wait`; prints what was stored, stops it all.
set -euo pipefail

workdir=$(mktemp -d -t shardfetch-demo.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(free_port); sim_port=$(free_port); flower_port=$(free_port)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped redis, simulator, workers and flower; logs were in $workdir"
}
trap cleanup EXIT
wait_for() {  # wait_for FILE TEXT SECONDS
  for _ in $(seq $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1"; cat "$1"; exit 1
}

export REDIS_URL="redis://127.0.0.1:${redis_port}/0"
export DATA_DIR="${DATA_DIR:-$PWD/demo-data}"
export BINANCE_SPOT_URL="http://127.0.0.1:${sim_port}" BINANCE_USDM_URL="http://127.0.0.1:${sim_port}"
export BINANCE_ARCHIVE_URL="http://127.0.0.1:${sim_port}"
# The simulated exchange is generous so that two years of daily trade shards finish in
# a minute or two; the cluster's shared limiter keeps to the same budget it announces. The
# simulated archive has no limit: the polite default for the real one (300 files a minute)
# would make the demo wait out most of six minutes.
export BINANCE_SPOT_RATE_LIMIT=114000/60 BINANCE_USDM_RATE_LIMIT=2280/60
export BINANCE_ARCHIVE_RATE_LIMIT=6000/60
start=$(date +%s)

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$workdir" >"$workdir/redis.log" 2>&1 & pids+=($!)
wait_for "$workdir/redis.log" "Ready to accept connections" 20
exchange-sim --port "$sim_port" --spot-weight 120000/60 >"$workdir/sim.log" 2>&1 & pids+=($!)
wait_for "$workdir/sim.log" "listening on" 20
for name in one two; do
  celery -A workers worker -Q binance -n "$name@%h" -c 2 -l INFO \
    >"$workdir/worker-$name.log" 2>&1 & pids+=($!)
done
celery -A workers flower --address=127.0.0.1 --port="$flower_port" \
  >"$workdir/flower.log" 2>&1 & pids+=($!)
wait_for "$workdir/worker-one.log" " ready." 60
wait_for "$workdir/worker-two.log" " ready." 60
echo "redis ${REDIS_URL} | simulator ${BINANCE_SPOT_URL} | flower http://127.0.0.1:${flower_port}"

producer enqueue --symbol BTCUSDT --years 2 --wait
producer status
echo
echo "stored under ${DATA_DIR}:"
find "$DATA_DIR" -name '*.parquet' -printf '%h\n' | sort | uniq -c | sed "s|$DATA_DIR/||"
echo "  $(find "$DATA_DIR" -name '*.parquet' | wc -l) files, $(du -sh "$DATA_DIR" | cut -f1) in all"
echo "demo finished in $(( $(date +%s) - start )) s"
