#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on 127.0.0.1 for the tests, from Debian's mariadb-server and
# galera-4, in a directory of its own (nothing of the machine's MariaDB is touched).
#
#   .ci/galera.sh start DIR        bootstrap node 1, join nodes 2 and 3 (rsync SST); prints the DSNs
#   .ci/galera.sh stop DIR         stop every node started from DIR
#   .ci/galera.sh kill-node DIR N  kill -9 node N (the failover test)
#   .ci/galera.sh start-node DIR N start node N again; it rejoins by IST or SST
#   .ci/galera.sh dsns DIR         the three DSNs, comma-separated (KAOQIN_TEST_GALERA_DSNS)
#
# Ports, from base B=$KAOQIN_GALERA_PORT (default 33060): SQL 127.0.0.1:B+N, group communication
# B+1000+N, IST B+1100+N, SST B+1200+N; the same variable must be set for every command. The rsync SST daemon drops to `nobody`, and mariadbd refuses to run as root
# without --user, so the nodes run as `mysql` with their directories chowned to it. skip-name-resolve
# is set, so root over TCP is 'root'@'127.0.0.1', created on node 1 and replicated.
set -euo pipefail

base=${KAOQIN_GALERA_PORT:-33060}
cmd=${1:?usage: galera.sh start|stop|kill-node|start-node|dsns DIR [N]}
dir=${2:?usage: galera.sh $cmd DIR}

sql_port() { echo $((base + $1)); }

dsns() {
  local out=""
  for n in 1 2 3; do
    out+="${out:+,}root@tcp(127.0.0.1:$(sql_port "$n"))/kaoqin_test"
  done
  echo "$out"
}

write_cnf() {
  local n=$1 nd="$dir/n$1"
  mkdir -p "$nd/data" "$nd/tmp"
  cat >"$nd/my.cnf" <<EOF
[mysqld]
datadir=$nd/data
tmpdir=$nd/tmp
socket=$nd/mysqld.sock
pid-file=$nd/mysqld.pid
log-error=$nd/mysqld.err
port=$(sql_port "$n")
bind-address=127.0.0.1
skip-name-resolve
user=mysql
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=96M
innodb_log_file_size=48M
innodb_flush_log_at_trx_commit=0
max_connections=400
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=kaoqin_ci
wsrep_cluster_address=gcomm://127.0.0.1:$((base + 1001)),127.0.0.1:$((base + 1002)),127.0.0.1:$((base + 1003))
wsrep_node_name=n$n
wsrep_node_address=127.0.0.1
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$((base + 1000 + n));ist.recv_addr=127.0.0.1:$((base + 1100 + n));gcache.size=128M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$((base + 1200 + n))
wsrep_slave_threads=2
EOF
  chown -R mysql:mysql "$nd"
}

# ready N waits until node N answers over its socket with wsrep_ready ON.
ready() {
  local nd="$dir/n$1"
  for _ in $(seq 1 240); do
    if [ -S "$nd/mysqld.sock" ] &&
      [ "$(mariadb --no-defaults --socket="$nd/mysqld.sock" -uroot -N -e "SHOW STATUS LIKE 'wsrep_ready'" 2>/dev/null | awk '{print $2}')" = ON ]; then
      return 0
    fi
    sleep 0.25
  done
  echo "galera: node $1 not ready; its log:" >&2
  tail -n 40 "$nd/mysqld.err" >&2 || true
  return 1
}

run_node() {
  local n=$1
  shift
  # setsid: the node outlives the shell that started it and is stopped by pid only.
  setsid mariadbd --defaults-file="$dir/n$n/my.cnf" "$@" >>"$dir/n$n/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/n$n/launcher.pid"
}

case "$cmd" in
start)
  mkdir -p "$dir"
  chmod 755 "$dir"
  for n in 1 2 3; do write_cnf "$n"; done
  mariadb-install-db --defaults-file="$dir/n1/my.cnf" --user=mysql --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$dir/install.log" 2>&1 || { cat "$dir/install.log"; exit 1; }
  run_node 1 --wsrep-new-cluster
  ready 1
  mariadb --no-defaults --socket="$dir/n1/mysqld.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    CREATE DATABASE IF NOT EXISTS kaoqin_test CHARACTER SET utf8mb4;"
  run_node 2
  ready 2
  run_node 3
  ready 3
  size=$(mariadb --no-defaults --socket="$dir/n1/mysqld.sock" -uroot -N -e "SHOW STATUS LIKE 'wsrep_cluster_size'" | awk '{print $2}')
  [ "$size" = 3 ] || { echo "galera: cluster size $size, want 3" >&2; exit 1; }
  echo "galera: 3 nodes ready in $dir: $(dsns)"
  ;;
stop)
  # Joiners first, the bootstrap node last, each by its own pid.
  for n in 3 2 1; do
    pf="$dir/n$n/mysqld.pid"
    [ -f "$pf" ] || continue
    pid=$(cat "$pf")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
  ;;
kill-node)
  n=${3:?usage: galera.sh kill-node DIR N}
  kill -9 "$(cat "$dir/n$n/mysqld.pid")"
  ;;
start-node)
  n=${3:?usage: galera.sh start-node DIR N}
  rm -f "$dir/n$n/mysqld.pid"
  run_node "$n"
  ready "$n"
  ;;
dsns)
  dsns
  ;;
*)
  echo "galera.sh: unknown command $cmd" >&2
  exit 2
  ;;
esac
