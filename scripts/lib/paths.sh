# Request paths for the HTTP benchmarks, from the windows the catalog bench writes. Sourced:
#   . scripts/lib/paths.sh
#   window_paths WINDOWS DIR   → DIR/bbox-paths.txt (items?bbox of each window) and
#                                DIR/tile-paths.txt (the z14 parcel tile under each window's centre)
window_paths() {
  awk -F, '{ printf "/collections/parcels/items?bbox=%s,%s,%s,%s&limit=1000\n", $1, $2, $3, $4 }' \
    "$1" > "$2/bbox-paths.txt"
  awk -F, 'BEGIN { pi = atan2(0, -1); n = 2 ^ 14 }
    { lon = ($1 + $3) / 2; lat = ($2 + $4) / 2 * pi / 180
      x = int((lon + 180) / 360 * n); y = int((1 - log(sin(lat) / cos(lat) + 1 / cos(lat)) / pi) / 2 * n)
      printf "/tiles/parcels/14/%d/%d.mvt\n", x, y }' "$1" > "$2/tile-paths.txt"
}
