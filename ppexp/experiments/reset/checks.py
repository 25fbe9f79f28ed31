"""``Check(name, status, message, fix)``: one result of ``ppexp doctor``, and how a list is shown."""
from dataclasses import dataclass

OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass
class Check:
    name: str
    status: str
    message: str
    fix: str = ""


def exit_code(checks):
    return 1 if any(c.status == ERROR for c in checks) else 0


def format_checks(checks):
    lines = []
    for c in checks:
        lines.append(f"  {c.status:8s} {c.name:14s} {c.message}")
        if c.fix and c.status != OK:
            lines.append(f"  {'':8s} {'':14s} fix: {c.fix}")
    n_err = sum(c.status == ERROR for c in checks)
    n_warn = sum(c.status == WARNING for c in checks)
    lines.append(f"{len(checks)} checks: {n_err} error(s), {n_warn} warning(s)")
    return "\n".join(lines)
