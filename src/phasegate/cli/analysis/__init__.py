"""``phasegate spc``, ``capability`` and ``gage``: the standalone analysis of a CSV file.

- :mod:`.commands`: the commands and their options (importing this package registers them);
- :mod:`.tables`: the reports as JSON, CSV or Rich tables;
- :mod:`.plots`: the reports drawn with Plotly (``--plot``).
"""

from phasegate.cli.analysis import commands

__all__ = ["commands"]
