"""Text that reaches a terminal: partner data is shown as text, never as instructions.

Names, addresses and error messages quoting them come from partners' files. Printed raw,
``[link=…]`` or ``[/x]`` would be read by rich as markup (a link, or a crash), and an ESC
sequence in a surname would recolour, move or retitle the coordinator's terminal.
:func:`safe` makes every control character visible as an escape; :func:`plain` wraps the
result in a rich ``Text``, which rich never parses as markup.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides
# and isolates that can make a terminal show text in an order other than it is stored.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe(text: str) -> str:
    """``text`` with every control character shown as ``\\xNN`` / ``\\uNNNN``."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def plain(text: str, style: str = "") -> Text:
    """Partner text as a rich ``Text``: never parsed as markup, controls made visible."""
    return Text(safe(text), style=style)
