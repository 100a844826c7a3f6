//! The OpenAPI 3.0 definition (`/api`): every path, parameter and schema, with each
//! collection's items path listing its queryable properties so GDAL's OAPIF driver pushes
//! attribute filters down to the server.

use super::collections::Collection;
use super::ogc::{CONFORMANCE, MAX_LIMIT};
use crate::checks::Param;
use serde_json::{json, Map, Value};

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema, "style": "form", "explode": false})
}

fn common_parameters() -> Value {
    json!({
        "f": param("f", "the representation: json or html (the Accept header decides otherwise)", json!({"type": "string", "enum": ["json", "html"]})),
        "limit": param("limit", &format!("features per page; default 100, values above {MAX_LIMIT} are clamped"), json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100})),
        "offset": param("offset", "index of the first feature of the page (next links set it)", json!({"type": "integer", "minimum": 0, "default": 0})),
        "bbox": {
            "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "minx,miny,maxx,maxy (or 6 numbers with heights), in bbox-crs (CRS84 by default)",
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        },
        "bbox-crs": param("bbox-crs", "the CRS of bbox, one of the collection's crs", json!({"type": "string", "format": "uri"})),
        "crs": param("crs", "the CRS of the returned geometries, one of the collection's crs; Content-Crs says which", json!({"type": "string", "format": "uri"})),
        "datetime": param("datetime", "an RFC 3339 date or interval (a/b, .. for open ends) on the collection's date property", json!({"type": "string"})),
        "as_of": param("as_of", "evaluation date of an analysis collection (YYYY-MM-DD, default today)", json!({"type": "string", "format": "date"})),
        "park": param("park", "restrict an analysis collection to one park (园区编号)", json!({"type": "string"})),
        "filter": param("filter", "a CQL2 expression over the collection's queryables (OGC API – Features Part 3), e.g. \"所属园区\" = 'GXQ01' AND S_INTERSECTS(geometry, BBOX(104.4, 30.0, 104.6, 30.2))", json!({"type": "string"})),
        "filter-lang": param("filter-lang", "the language of filter", json!({"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"})),
        "filter-crs": param("filter-crs", "the CRS of the geometry literals in filter, one of the collection's crs (CRS84 by default)", json!({"type": "string", "format": "uri"})),
        "sortby": param("sortby", "queryables to sort by, comma-separated, each + (ascending, the default) or - (descending); missing values last", json!({"type": "string"})),
        "properties": param("properties", "only these properties in each feature, comma-separated", json!({"type": "string"})),
        "skipGeometry": param("skipGeometry", "true: features without their geometry", json!({"type": "boolean", "default": false})),
        "featureId": {"name": "featureId", "in": "path", "required": true, "description": "a stored feature's fid, or an analysis feature's own id (a conflict polygon's)", "schema": feature_id_schema()},
    })
}

/// Feature ids are store fids (integers) or an analysis' own ids (strings).
fn feature_id_schema() -> Value {
    json!({"oneOf": [{"type": "integer"}, {"type": "string"}]})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/parameters/{name}")})
}

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn exception(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema("exception")}}})
}

/// Success (in `media` and HTML) and 400; 404 where the path names something that may not
/// exist.
fn responses(ok_schema: Value, media: &str, may_be_missing: bool) -> Value {
    let mut r = json!({
        "200": {"description": "success", "content": {media: {"schema": ok_schema}, "text/html": {"schema": {"type": "string"}}}},
        "400": exception("a parameter the endpoint does not take, or a bad value"),
    });
    if may_be_missing {
        r["404"] = exception("no such collection or feature");
    }
    r
}

/// The `collectionId` path parameter, one of `ids`.
fn collection_id(ids: &[String]) -> Value {
    let mut schema = json!({"type": "string"});
    if !ids.is_empty() {
        schema["enum"] = json!(ids);
    }
    json!({"name": "collectionId", "in": "path", "required": true, "schema": schema})
}

/// `as_of` and `park`, on the paths of analysis collections only.
fn analysis_parameters(c: &Collection) -> Vec<Value> {
    match c {
        Collection::Analysis(_) => vec![reference("as_of"), reference("park")],
        Collection::Layer(_) => vec![],
    }
}

/// The items operation of a collection; `datetime` only where it has a date property.
fn items_operation(id: &str, title: &str, dated: bool, extra: &[Value]) -> Value {
    let mut parameters = vec![
        reference("f"),
        reference("limit"),
        reference("offset"),
        reference("bbox"),
        reference("bbox-crs"),
        reference("crs"),
        reference("filter"),
        reference("filter-lang"),
        reference("filter-crs"),
        reference("sortby"),
        reference("properties"),
        reference("skipGeometry"),
    ];
    if dated {
        parameters.push(reference("datetime"));
    }
    parameters.extend_from_slice(extra);
    json!({"get": {
        "summary": format!("features of {title}"),
        "operationId": format!("getFeatures_{id}"),
        "tags": ["data"],
        "parameters": parameters,
        "responses": not_modified(responses(schema("featureCollectionGeoJSON"), "application/geo+json", false)),
    }})
}

/// With the 304 an If-None-Match earns.
fn not_modified(mut r: Value) -> Value {
    r["304"] = json!({"description": "not modified since the ETag given in If-None-Match"});
    r
}

/// The definition for these collections, served at `base`.
pub fn document(base: &str, collections: &[Collection]) -> Value {
    let mut paths = Map::new();
    let simple = |summary: &str, op: &str, tag: &str, s: Value, media: &str| json!({"get": {"summary": summary, "operationId": op, "tags": [tag], "parameters": [reference("f")], "responses": responses(s, media, false)}});
    // Stored layers under the templated paths; each analysis collection has its own paths,
    // since only they take as_of and park.
    let stored: Vec<String> = collections
        .iter()
        .filter(|c| matches!(c, Collection::Layer(_)))
        .map(Collection::id)
        .collect();
    paths.insert(
        "/".into(),
        simple(
            "landing page (the map in a browser)",
            "getLandingPage",
            "capabilities",
            schema("landingPage"),
            "application/json",
        ),
    );
    paths.insert(
        "/conformance".into(),
        simple(
            "conformance classes",
            "getConformance",
            "capabilities",
            schema("confClasses"),
            "application/json",
        ),
    );
    paths.insert(
        "/api".into(),
        simple(
            "this API definition",
            "getApi",
            "capabilities",
            json!({"type": "object"}),
            "application/vnd.oai.openapi+json;version=3.0",
        ),
    );
    paths.insert(
        "/collections".into(),
        simple(
            "the collections",
            "getCollections",
            "capabilities",
            schema("collections"),
            "application/json",
        ),
    );
    let mut schema_only = responses(
        json!({"type": "object", "description": "a JSON Schema (2020-12) of the queryable properties"}),
        "application/schema+json",
        true,
    );
    if let Some(content) = schema_only["200"]["content"].as_object_mut() {
        content.remove("text/html");
    }
    // The per-collection paths: (path, operation) with `{collectionId}` for stored layers.
    let described = |path: &str,
                     op: &str,
                     id: Option<&str>,
                     extra: Vec<Value>|
     -> (String, Value) {
        let (path, mut parameters, suffix) = match id {
            Some(id) => (path.replace("{collectionId}", id), vec![], format!("_{id}")),
            None => (
                path.to_string(),
                vec![collection_id(&stored)],
                String::new(),
            ),
        };
        parameters.extend(extra);
        let v = match op {
            "describeCollection" => {
                json!({"get": {"summary": "one collection", "operationId": format!("{op}{suffix}"), "tags": ["capabilities"],
                "parameters": parameters, "responses": responses(schema("collection"), "application/json", id.is_none())}})
            }
            "getQueryables" => {
                json!({"get": {"summary": "the properties items can be filtered by, with their types (OGC API – Features Part 3)", "operationId": format!("{op}{suffix}"), "tags": ["capabilities"],
                "parameters": parameters, "responses": schema_only.clone()}})
            }
            "getSchema" => {
                json!({"get": {"summary": "every property of the features with its type, from all their values (OGC API – Features Part 5); profile=feature gives a whole GeoJSON feature's schema", "operationId": format!("{op}{suffix}"), "tags": ["capabilities"],
                "parameters": parameters, "responses": schema_only.clone()}})
            }
            "getFeature" => {
                json!({"get": {"summary": "one feature", "operationId": format!("{op}{suffix}"), "tags": ["data"],
                "parameters": parameters, "responses": responses(schema("featureGeoJSON"), "application/geo+json", true)}})
            }
            "getTile" => {
                json!({"get": {"summary": "a Mapbox vector tile (Web Mercator); 204 when empty or below the collection's minzoom", "operationId": format!("{op}{suffix}"), "tags": ["tiles"],
                "parameters": parameters,
                "responses": not_modified(json!({"200": {"description": "tile", "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}}},
                              "204": {"description": "no feature in the tile"}, "400": exception("bad address or parameter"), "404": exception("no such collection")}))}})
            }
            _ => {
                json!({"get": {"summary": "TileJSON 3.0 of a collection's vector tiles", "operationId": format!("{op}{suffix}"), "tags": ["tiles"],
                "parameters": parameters,
                "responses": {"200": {"description": "TileJSON", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": exception("a parameter the endpoint does not take, or a bad value"), "404": exception("no such collection")}}})
            }
        };
        (path, v)
    };
    let tile_xyz = || {
        vec![
            json!({"name": "z", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 24}}),
            json!({"name": "x", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}),
            json!({"name": "y", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}),
        ]
    };
    let mut per_collection = |id: Option<&str>, extra: Vec<Value>| {
        let with = |mut v: Vec<Value>| {
            v.extend(extra.iter().cloned());
            v
        };
        for (path, op, params) in [
            (
                "/collections/{collectionId}",
                "describeCollection",
                vec![reference("f")],
            ),
            (
                "/collections/{collectionId}/queryables",
                "getQueryables",
                vec![],
            ),
            (
                "/collections/{collectionId}/schema",
                "getSchema",
                vec![param(
                    "profile",
                    "feature: the schema of a whole GeoJSON feature (as GDAL reads it)",
                    json!({"type": "string", "enum": ["feature"]}),
                )],
            ),
            (
                "/collections/{collectionId}/items/{featureId}",
                "getFeature",
                vec![reference("featureId"), reference("f"), reference("crs")],
            ),
            (
                "/tiles/{collectionId}/{z}/{x}/{y}.mvt",
                "getTile",
                tile_xyz(),
            ),
            ("/tiles/{collectionId}.json", "getTileJson", vec![]),
        ] {
            let (p, v) = described(path, op, id, with(params));
            paths.insert(p, v);
        }
    };
    per_collection(None, vec![]);
    for c in collections
        .iter()
        .filter(|c| matches!(c, Collection::Analysis(_)))
    {
        per_collection(Some(&c.id()), analysis_parameters(c));
    }
    for c in collections {
        let id = c.id();
        let mut extra: Vec<Value> = c
            .queryables()
            .iter()
            .map(|q| {
                param(
                    &q.name,
                    &format!("equal to {} ({})", q.title, q.key),
                    json!({"type": q.kind.json_type()}),
                )
            })
            .collect();
        extra.extend(analysis_parameters(c));
        paths.insert(
            format!("/collections/{id}/items"),
            items_operation(&id, &c.title(), c.temporal_property().is_some(), &extra),
        );
    }
    paths.insert(
        "/analysis".into(),
        json!({"get": {"summary": "the checks landwatch runs", "operationId": "getAnalyses", "tags": ["analysis"], "parameters": [reference("f")],
            "responses": responses(json!({"type": "object"}), "application/json", false)}}),
    );
    let report_formats = param(
        "f",
        "json (the report), csv (its main table, or the one `table` names) or xlsx (every table, one sheet each), or html",
        json!({"type": "string", "enum": ["json", "csv", "xlsx", "html"]}),
    );
    let table = param(
        "table",
        "with f=csv: the table, by number (1 = the main one) or name",
        json!({"type": "string"}),
    );
    let report_responses = json!({
        "200": {"description": "the report", "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}},
        "400": {"description": "bad parameter, or a site that cannot be reviewed (the description says why)", "content": {"application/json": {"schema": schema("exception")}}},
        "404": {"description": "no such check", "content": {"application/json": {"schema": schema("exception")}}},
    });
    let read_with_get: Vec<&str> = crate::checks::CHECKS
        .iter()
        .filter(|c| !c.params().contains(&Param::Site))
        .map(|c| c.id())
        .collect();
    paths.insert(
        "/analysis/{check}".into(),
        json!({"get": {"summary": format!("a check's report: {}; each check's own parameters are under /analysis/<check>", read_with_get.join(", ")),
            "operationId": "getAnalysis", "tags": ["analysis"],
            "parameters": [
                {"name": "check", "in": "path", "required": true, "schema": {"type": "string", "enum": read_with_get}},
                report_formats, table],
            "responses": report_responses}}),
    );
    for c in crate::checks::CHECKS {
        let id = c.id();
        let mut parameters = vec![report_formats.clone(), table.clone()];
        parameters.extend(
            c.params()
                .iter()
                .filter(|p| **p != Param::Site)
                .map(|p| param(p.name(), p.description(), json!({"type": "string"}))),
        );
        let op = json!({"summary": format!("{}: {}", c.title_zh(), c.description()),
            "operationId": format!("analysis_{id}"), "tags": ["analysis"],
            "parameters": parameters, "responses": report_responses});
        let item = if c.params().contains(&Param::Site) {
            let mut op = op;
            op["requestBody"] = json!({"required": true, "description": Param::Site.description(),
                "content": {"application/geo+json": {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}});
            op["responses"]["413"] = json!({"description": format!("a site larger than {} bytes", crate::checks::MAX_SITE_BYTES),
                "content": {"application/json": {"schema": schema("exception")}}});
            json!({"post": op})
        } else {
            json!({"get": op})
        };
        paths.insert(format!("/analysis/{id}"), item);
    }
    paths.insert(
        "/health".into(),
        json!({"get": {"summary": "liveness and the store version served", "operationId": "getHealth", "tags": ["capabilities"],
            "responses": {"200": {"description": "serving", "content": {"application/json": {"schema": {"type": "object"}}}}}}}),
    );
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "landwatch",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("园区土地监测: stored layers and analysis results ({}) as OGC API – Features, vector tiles and reports", crate::checks::collections().map(|c| c.id()).collect::<Vec<_>>().join(", ")),
            "license": {"name": "MIT OR Apache-2.0"},
        },
        "servers": [{"url": base}],
        "tags": [{"name": "capabilities"}, {"name": "data"}, {"name": "tiles"}, {"name": "analysis"}],
        "paths": paths,
        "components": {
            "parameters": common_parameters(),
            "schemas": {
                "link": {"type": "object", "required": ["href", "rel"], "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}},
                "exception": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}, "description": {"type": "string"}}},
                "landingPage": {"type": "object", "required": ["links"], "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "links": {"type": "array", "items": schema("link")}}},
                "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {"conformsTo": {"type": "array", "items": {"type": "string", "enum": CONFORMANCE}}}},
                "extent": {"type": "object", "properties": {
                    "spatial": {"type": "object", "properties": {"bbox": {"type": "array", "items": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}}, "crs": {"type": "string"}}},
                    "temporal": {"type": "object", "properties": {"interval": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string", "nullable": true}}}, "trs": {"type": "string"}}}}},
                "collection": {"type": "object", "required": ["id", "links"], "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
                    "links": {"type": "array", "items": schema("link")}, "extent": schema("extent"), "itemType": {"type": "string"},
                    "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"}}},
                "collections": {"type": "object", "required": ["links", "collections"], "properties": {
                    "links": {"type": "array", "items": schema("link")}, "collections": {"type": "array", "items": schema("collection")},
                    "crs": {"type": "array", "items": {"type": "string"}}}},
                "geometryGeoJSON": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"]}}},
                "featureGeoJSON": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]}, "geometry": schema("geometryGeoJSON"),
                    "properties": {"type": "object", "nullable": true}, "id": feature_id_schema(), "links": {"type": "array", "items": schema("link")}}},
                "featureCollectionGeoJSON": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]}, "features": {"type": "array", "items": schema("featureGeoJSON")},
                    "links": {"type": "array", "items": schema("link")}, "timeStamp": {"type": "string", "format": "date-time"},
                    "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0}}},
            },
        },
    });
    describe_writes(&mut doc);
    doc
}

/// The writes (events, uploads) and the account, with the bearer tokens they need.
fn describe_writes(doc: &mut Value) {
    let exception = json!({"application/json": {"schema": schema("exception")}});
    let answer = |what: &str| json!({"description": what, "content": exception.clone()});
    let refusals = json!({
        "400": answer("a malformed body, header or parameter (the description says what)"),
        "401": answer("no token, or one that is not valid or revoked (WWW-Authenticate: Bearer)"),
        "403": answer("the account's role is too low"),
        "429": answer("too many refused tokens from this address (Retry-After)"),
    });
    let with = |extra: Value| {
        let mut r = refusals.clone();
        for (k, v) in extra.as_object().expect("an object") {
            r[k] = v.clone();
        }
        r
    };
    let bearer = json!([{"bearer": []}]);
    let event = json!({"type": "object", "required": ["type", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "geometry": {"nullable": true},
        "properties": {"type": "object", "required": ["layer", "feature_id", "subject", "status", "effective_date"], "properties": {
            "layer": {"type": "string"}, "feature_id": {"type": "string"},
            "subject": {"type": "string", "enum": ["idle", "approved_not_supplied", "underused", "conflict"]},
            "status": {"type": "string", "enum": ["suspected", "investigating", "confirmed", "disposing", "disposed"]},
            "method": {"type": "string", "nullable": true}, "effective_date": {"type": "string", "format": "date"},
            "until": {"type": "string", "format": "date", "nullable": true}, "document_no": {"type": "string", "nullable": true},
            "amount_wan": {"type": "number", "nullable": true}, "note": {"type": "string", "nullable": true},
            "supersedes": {"type": "integer", "nullable": true}}}}});
    let post_event = json!({"summary": "record the next disposal event (处置记录) of a finding; editors", "operationId": "createEvent",
    "tags": ["data"], "security": bearer,
    "parameters": [{"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"},
        "description": "the case version read (its last event's ETag, \"0\" for none): 412 when another event came first"}],
    "requestBody": {"required": true, "content": {"application/geo+json": {"schema": event.clone()}, "application/json": {"schema": event}}},
    "responses": with(json!({
        "201": {"description": "recorded; Location and ETag (the case's new version)", "content": {"application/geo+json": {"schema": schema("featureGeoJSON")}}},
        "409": answer("the store is read-only"),
        "412": answer("another event was recorded for the case first"),
        "413": answer("a body larger than the server takes"),
        "422": answer("a step the disposal rules do not allow, or a feature the layer does not hold (the rule is named)"),
        "503": answer("the store is being written by an ingest; retry"),
    }))});
    let paths = doc["paths"].as_object_mut().expect("paths");
    let events = paths
        .entry("/collections/events/items")
        .or_insert_with(|| json!({}));
    events["post"] = post_event;
    paths.insert("/layers/{name}".into(), json!({"post": {"summary": "upload a layer (zipped shapefile or FileGDB, GeoPackage, GeoJSON): the ingest of landwatch ingest; admins",
        "operationId": "uploadLayer", "tags": ["data"], "security": bearer,
        "parameters": [
            {"name": "name", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "role", "in": "query", "required": true, "schema": {"type": "string", "enum": crate::model::Role::ALL.map(|r| r.as_str())}},
            {"name": "kind", "in": "query", "schema": {"type": "string"}},
            {"name": "layer", "in": "query", "schema": {"type": "string"}},
            {"name": "crs", "in": "query", "schema": {"type": "string"}},
            {"name": "encoding", "in": "query", "schema": {"type": "string"}},
            {"name": "on-error", "in": "query", "schema": {"type": "string", "enum": ["fail", "skip"]}},
            {"name": "land-system", "in": "query", "schema": {"type": "string"}},
            {"name": "analysis-crs", "in": "query", "schema": {"type": "string"}},
            {"name": "max-vertices", "in": "query", "schema": {"type": "integer"}}],
        "requestBody": {"required": true, "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
            "application/geo+json": {"schema": {"type": "object"}}}},
        "responses": with(json!({
            "200": {"description": "the layer replaced: the ingest report", "content": {"application/json": {"schema": {"type": "object"}}}},
            "201": {"description": "a new layer: the ingest report", "content": {"application/json": {"schema": {"type": "object"}}}},
            "409": answer("the store is read-only"),
            "413": answer("an upload larger than serve --max-upload-mb"),
            "415": answer("a body that is no zip, GeoPackage or GeoJSON"),
            "422": answer("the ingest refused the file (the store was not changed)"),
            "503": answer("the store is being written by another ingest; retry"),
            "507": answer("the disk is nearly full (the store was not changed)"),
        }))}}));
    paths.insert("/account".into(), json!({"get": {"summary": "the account of the token sent", "operationId": "getAccount",
        "tags": ["capabilities"], "security": bearer,
        "responses": with(json!({"200": {"description": "the account", "content": {"application/json": {"schema": {"type": "object",
            "properties": {"name": {"type": "string"}, "role": {"type": "string"}, "role_zh": {"type": "string"}}}}}}}))}}));
    doc["components"]["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer",
        "description": "a token of landwatch user add (lw_…)"}});
}
