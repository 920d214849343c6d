"""Validate a CAP message against the OASIS CAP 1.2 schema with xmllint."""

from __future__ import annotations

import subprocess
from pathlib import Path

XSD = Path(__file__).parent / "reference" / "cap12.xsd"


def validate(xml: str | bytes, workdir: Path) -> None:
    """`xmllint --schema cap12.xsd`: fails the test with xmllint's message."""
    path = workdir / "cap-message.xml"
    path.write_bytes(xml.encode() if isinstance(xml, str) else xml)
    result = subprocess.run(
        ["xmllint", "--noout", "--schema", str(XSD), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
