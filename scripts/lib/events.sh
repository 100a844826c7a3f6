# 100,000 recorded events (处置记录) in a bench store. Sourced:
#   . scripts/lib/events.sh
#   seed_events BIN STORE     one event recorded through landwatch (it makes the table), the
#                             others written in one SQL transaction as valid histories —
#                             疑似 → 调查中 on 40,000 parcels, 已认定 → 已处置（动工） on 10,000
seed_events() {
  local bin=$1 store=$2 idcol first
  idcol=$(sqlite3 "$store" "SELECT id_source FROM landwatch_layers WHERE name = 'parcels'")
  first=$(sqlite3 "$store" "SELECT \"$idcol\" FROM parcels ORDER BY fid LIMIT 1")
  "$bin" event add --store "$store" --layer parcels --feature-id "$first" --status suspected \
    --effective-date 2025-01-01 --by bench >/dev/null
  sqlite3 "$store" "BEGIN;
INSERT INTO landwatch_events (subject, layer, feature_id, status, method, effective_date, recorded_by, recorded_at)
SELECT 'idle', 'parcels', p.id, s.status, s.method, s.day, 'bench', '2026-01-01T00:00:00Z'
FROM (SELECT \"$idcol\" AS id, ROW_NUMBER() OVER (ORDER BY fid) AS n FROM parcels ORDER BY fid LIMIT 50000 OFFSET 1) p
JOIN (SELECT 'suspected' AS status, NULL AS method, '2025-01-10' AS day, 0 AS k
      UNION ALL SELECT 'investigating', NULL, '2025-03-10', 0
      UNION ALL SELECT 'confirmed', NULL, '2025-02-01', 1
      UNION ALL SELECT 'disposed', 'started', '2025-09-01', 1) s ON s.k = (p.n % 5 = 0);
COMMIT;"
}
