"""The command center's routes, one module per resource, each a function
`router(ctx) -> APIRouter` over the app's shared `Context` (routes/context.py).

Paths are written out in full in each module, as they are in `web/access.py`
(`ACCESS`, who may call each), so a path can be found by searching for it.
"""
