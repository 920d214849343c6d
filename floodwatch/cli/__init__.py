"""The `floodwatch` command line (click), the top layer: it may use every other
package. `app.py` holds the group and the engine and service commands (`run`,
`demo`, `replay`, `simulate`, `backtest`, …); one module per further concern:
`check.py`, `demo.py`, `duty.py` (silences, ack, unanswered, passwords and keys),
`backup.py`, `importer.py` (`import sl323`), `messages.py`, `sl651.py`.
"""
