#!/usr/bin/env bash
# Run the demo on embedded defaults: no broker, no database server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/floodwatch demo "$@"
