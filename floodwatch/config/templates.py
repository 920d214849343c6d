"""SMS templates (`service.notify.destinations.<name>.template`), read and
parsed when the config is loaded, so that `floodwatch check` and a reload name
a template that cannot be read or parsed, and the compile step stays free of
file reads (it is given the problems found here, `LoadedConfig.template_problems`).
A relative path is read next to the file with `service:`. The sender renders
the template itself (`notify.sms.Texts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
import jinja2.sandbox

from floodwatch.config.errors import Loc
from floodwatch.config.models import Config


def template_problem(template: str, config_dir: Path) -> str | None:
    """Why an SMS template cannot be used (None: it can)."""
    path = Path(template)
    if not path.is_absolute():
        path = config_dir / path
    try:
        jinja2.sandbox.SandboxedEnvironment().parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot read the template {path}: {exc.strerror}"
    except UnicodeDecodeError as exc:  # a template saved as GBK: name it, do not crash
        return (
            f"cannot read the template {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        )
    except jinja2.TemplateSyntaxError as exc:
        return f"template {path}:{exc.lineno}: {exc.message}"
    return None


def problems(config: Config, config_dir: Path) -> Iterator[tuple[Loc, str]]:
    """Every SMS template of `config` that cannot be used, at its key path."""
    notify = config.service.notify
    if notify is None:
        return
    for name, dest in notify.destinations.items():
        template = getattr(dest, "template", None)  # the sms model's
        if dest.type == "sms" and template is not None:
            problem = template_problem(template, config_dir)
            if problem is not None:
                yield ("service", "notify", "destinations", name, "template"), problem
