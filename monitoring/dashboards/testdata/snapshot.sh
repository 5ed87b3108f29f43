#!/bin/sh
# Snapshot the metric names of Debian's redis and postgres exporters against real servers on loopback.
# Writes redis_exporter.txt and postgres_exporter.txt in the working directory.
set -e
D=$(mktemp -d)
redis-server --port 16399 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile $D/redis.pid --dir $D
sleep 1
prometheus-redis-exporter --redis.addr=redis://127.0.0.1:16399 --web.listen-address=127.0.0.1:19121 >$D/re.log 2>&1 & RE=$!
chmod 777 $D; runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D $D/pg -U postgres --auth=trust >/dev/null
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $D/pg -o "-p 15499 -k $D -c listen_addresses=127.0.0.1" -l $D/pg.log -w start >/dev/null
DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:15499/postgres?sslmode=disable" prometheus-postgres-exporter --web.listen-address=127.0.0.1:19187 >$D/pe.log 2>&1 & PE=$!
sleep 3
curl -s http://127.0.0.1:19121/metrics | grep -v '^#' | sed 's/[{ ].*//' | sort -u > redis_exporter.txt
curl -s http://127.0.0.1:19187/metrics | grep -v '^#' | sed 's/[{ ].*//' | sort -u > postgres_exporter.txt
kill $RE $PE
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D $D/pg -m fast stop >/dev/null
kill $(cat $D/redis.pid)
rm -rf $D
