"""The views: figures, claims tables and the site's data, drawn from saved results.

Nothing here trains: every function reads results the lab saved, so re-plotting takes
seconds.
"""
