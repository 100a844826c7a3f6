"""Read landwatch with OWSLib's OGC API – Features client and print what it got, as JSON.

Usage: owslib_client.py BASE_URL WEST SOUTH EAST NORTH
"""
import json
import sys

from owslib.ogcapi.features import Features

base = sys.argv[1]
bbox = [float(v) for v in sys.argv[2:6]]
api = Features(base)
collections = api.collections()
items = api.collection_items("parcels", bbox=bbox, limit=7)
queryables = api.collection_queryables("parcels")
print(
    json.dumps(
        {
            "collections": sorted(c["id"] for c in collections["collections"]),
            "conformance": api.conformance()["conformsTo"],
            "bbox_matched": items["numberMatched"],
            "bbox_returned": len(items["features"]),
            "bbox_parks": sorted({f["properties"]["所属园区"] for f in items["features"]}),
            "queryables": queryables["properties"],
            "queryables_schema": queryables["$schema"],
        },
        ensure_ascii=False,
    )
)
