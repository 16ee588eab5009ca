"""The API root: one NinjaAPI at /api/v1/, one Router per app."""

from ninja import NinjaAPI

from consent.api import router as consent_router

api = NinjaAPI(
    title="My NHS API",
    version="1",
    description="Public sign-up and staff API for My NHS. Staff routes need a personal API token.",
    urls_namespace="api",
)
api.add_router("/", consent_router)
