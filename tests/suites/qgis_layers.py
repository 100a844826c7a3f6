"""Load landwatch's layers in QGIS (PyQGIS, offscreen) and print what QGIS saw, as JSON.

Usage: qgis_layers.py BASE_URL WEST SOUTH EAST NORTH
The Rust test (tests/suites.rs) compares every figure with the server's own answers.
"""
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

base = sys.argv[1]
window = QgsRectangle(*map(float, sys.argv[2:6]))
app = QgsApplication([], False)
app.initQgis()
out = {}

parcels = QgsVectorLayer(f"url='{base}' typename='parcels'", "parcels", "OAPIF")
out["parcels_valid"] = parcels.isValid()
features = list(parcels.getFeatures())
out["parcels_count"] = len(features)
out["parcels_fields"] = [f.name() for f in parcels.fields()]
out["parcels_parks"] = sorted({str(f["所属园区"]) for f in features})
out["parcels_holders"] = sorted({str(f["权利人"]) for f in features if f["权利人"]})[:5]
request = QgsFeatureRequest().setFilterRect(window).setFlags(QgsFeatureRequest.ExactIntersect)
out["bbox_count"] = sum(1 for _ in parcels.getFeatures(request))

idle = QgsVectorLayer(f"url='{base}' typename='idle'", "idle", "OAPIF")
out["idle_valid"] = idle.isValid()
out["idle_count"] = sum(1 for _ in idle.getFeatures())
out["idle_fields"] = [f.name() for f in idle.fields()]

tiles = QgsVectorTileLayer(
    f"type=xyz&url={base}/tiles/parcels/{{z}}/{{x}}/{{y}}.mvt&zmin=0&zmax=22", "tiles"
)
out["tiles_valid"] = tiles.isValid()
QgsProject.instance().addMapLayer(tiles)
settings = QgsMapSettings()
settings.setLayers([tiles])
mercator = QgsCoordinateReferenceSystem("EPSG:3857")
settings.setDestinationCrs(mercator)
to_mercator = QgsCoordinateTransform(
    QgsCoordinateReferenceSystem("EPSG:4326"), mercator, QgsProject.instance()
)
settings.setExtent(to_mercator.transformBoundingBox(window))
settings.setOutputSize(QSize(256, 256))
settings.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
image = job.renderedImage()
white = QColor(255, 255, 255).rgb()
out["tiles_drawn_pixels"] = sum(
    1 for x in range(0, 256, 2) for y in range(0, 256, 2) if image.pixel(x, y) != white
)
out["tiles_errors"] = [str(e.message) for e in job.errors()]
print(json.dumps(out, ensure_ascii=False), flush=True)
# Release the layers and the renderer before QGIS itself, or its exit crashes.
del job, image
QgsProject.instance().removeAllMapLayers()
del parcels, idle
app.exitQgis()
