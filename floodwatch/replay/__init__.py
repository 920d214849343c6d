"""Recorded input through the engine: `floodwatch replay` and what every run
over recorded readings shares (the backtest too).

`run.py` — decode JSON Lines and run them through a fresh engine, the path the
tests, benchmarks and demo use; `localtime.py` — zones for time stamps
recorded without one; `rejects.py` — the count of refused input and the
failure when too much of it is refused.
"""
