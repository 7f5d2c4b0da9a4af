"""The planning desk's domain: sensitive sites and complaints (kinds), the ruleset as data (rules), when
places are open (hours), the checks (engine), OpenStreetMap import (osm) and sample data (samples).

Framework-free like the rest of :mod:`layers`: the web pages, the reports and the CLI call into it.
"""
