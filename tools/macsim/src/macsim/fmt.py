"""Text formats the tools share: the old-style (NeXTSTEP) property-list description that Foundation prints.

Seen in ``profiles show -type enrollment`` and ``fdesetup showdeferralinfo`` (evidence corpus): four spaces per
level, keys sorted, ``Key = value;``, strings quoted unless they are only letters, digits, ``_`` and ``$``,
arrays printed as ``Key =     (`` ... ``    );`` with their items one per line.
"""

from __future__ import annotations

import re

_BARE = re.compile(r"^[A-Za-z0-9_$]+$")


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if _BARE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def old_style(value: object, level: int = 0) -> str:
    """``value`` (dict, list or scalar) as Foundation's description prints it."""
    pad = "    " * level
    if isinstance(value, dict):
        lines = ["{"]
        for key in sorted(value):
            item = value[key]
            if isinstance(item, list):
                lines.append(f"{pad}    {_scalar(key)} =     (")
                for index, element in enumerate(item):
                    comma = "," if index < len(item) - 1 else ""
                    lines.append(f"{pad}        {old_style(element, level + 2)}{comma}")
                lines.append(f"{pad}    );")
            else:
                lines.append(f"{pad}    {_scalar(key)} = {old_style(item, level + 1)};")
        lines.append(pad + "}")
        return "\n".join(lines)
    if isinstance(value, list):
        inner = ",\n".join(f"{pad}    {old_style(v, level + 1)}" for v in value)
        return "(\n" + inner + ("\n" if value else "") + pad + ")"
    return _scalar(value)
