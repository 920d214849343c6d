"""Backtests: run a config over recorded history, score it against what happened."""
