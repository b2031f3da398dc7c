"""Read models, one module per page: what the portfolio, product, build and unit pages show.

Every function returns frozen dataclasses (never ORM records), so the web pages, the CLI and the
API render the same numbers. Counting runs in SQL (``GROUP BY``) and per-build figures come from
the running aggregates ``BuildCharacteristicStat`` and ``BuildStationStat``; only page-sized
lists of rows are loaded into Python. Rules come from ``domain`` and statistics from ``stats``.

- ``portfolio``: the product cards and the phase counts of the portfolio page.
- ``product``: the product page (timeline, iteration view, builds, requirements).
- ``findings`` and ``feedback``: a product's finding and feedback lists.
- ``build``: the build page (stations, characteristics) and its list of units.
- ``unit``: one unit's history.
- ``rows`` holds the shapes several pages share; ``yields`` the yields with their intervals.
"""
