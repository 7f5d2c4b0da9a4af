"""The domain of the Qingdao consumption-scene map: layer kinds, reading and checking data, coordinates.

Nothing here imports Flask; the web application reaches the data through :class:`layers.catalog.Catalog`.
"""
