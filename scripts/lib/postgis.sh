# A throwaway PostgreSQL 15 + PostGIS 3 cluster for the benchmarks' baselines. Sourced:
#   . scripts/lib/postgis.sh
#   pg_start                       → $pg (its directory), $pg_port, $pg_conn; stopped at exit
#   pg_load SHAPEFILE TABLE SELECT [ogr2ogr options…]   load a GBK shapefile, GiST-indexed
# The cluster listens on a free loopback port and its own socket directory, runs as the
# postgres user when root, and is removed at exit (with everything else given to at_exit).

pgbin=/usr/lib/postgresql/15/bin

# Commands run at exit, in order; a script sourcing this adds its own instead of trapping EXIT.
_at_exit=()
at_exit() {
  _at_exit+=("$1")
  trap 'for c in "${_at_exit[@]}"; do eval "$c" >/dev/null 2>&1 || true; done' EXIT
  # A script interrupted or killed cleans up too.
  trap 'exit 130' INT TERM
}

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
  if [ ! -x "$pgbin/initdb" ] || ! dpkg-query -W -f='${Status}' postgresql-15-postgis-3 2>/dev/null | grep -q "install ok installed"; then
    echo "postgresql-15-postgis-3 is missing: run scripts/setup --postgis" >&2
    return 1
  fi
  pg=$(mktemp -d)
  [ "$(id -u)" -eq 0 ] && chown postgres "$pg"
  pg_port=$(free_port)
  as_pg "$pgbin/initdb" -D "$pg/data" -A trust -U postgres >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -o \
    "-p $pg_port -k $pg -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c work_mem=128MB -c max_parallel_workers_per_gather=2 -c max_connections=200" \
    start >/dev/null
  at_exit 'as_pg "$pgbin/pg_ctl" -D "$pg/data" -m fast stop >/dev/null 2>&1; rm -rf "$pg"'
  pg_conn="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
  psql -q -d "$pg_conn" -c "CREATE EXTENSION postgis" >/dev/null
}

pg_load() { # shapefile table select-list [ogr2ogr options…]
  local shp=$1 table=$2 select=$3 layer
  shift 3
  layer=$(basename "$shp" .shp)
  ogr2ogr --config SHAPE_ENCODING CP936 -f PostgreSQL "PG:$pg_conn" "$shp" -nln "$table" \
    -lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -lco FID=fid -nlt PROMOTE_TO_MULTI -makevalid \
    -dialect OGRSQL -sql "SELECT $select FROM $layer" "$@" >/dev/null 2>&1
}
