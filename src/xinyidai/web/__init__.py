"""Web edge: FastAPI app, API routers and Chinese pages — thin adapters over services."""
