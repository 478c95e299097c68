"""The local dashboard (FastAPI): pages, their JSON twins under /api, static assets.

`tokenstat.web.app.create_app` builds the application; importing this package alone
loads nothing heavy (the report renderer reads the vendored assets under ``static``).
"""
