"""Which numbers are the same WhatsApp account: the dialled number and the wa_id can differ.

WhatsApp ids are the digits of a number as WhatsApp registered it, which is not always the number
as people write it today:

- Mexico (52): mobile numbers were dialled with a `1` after the country code until 2019; WhatsApp
  still reports many accounts as `521` + 10 digits while the number is `+52` + 10 digits.
- Brazil (55): mobiles got a ninth digit (`9` after the area code) from 2012 to 2016; accounts
  registered before report the 8-digit form (`55 11 8765-4321`) for `+55 11 98765-4321`.
- Argentina (54): mobiles are `+54 9` + area + number in international form, written without the
  `9` in many address books; WhatsApp reports `549...`.

(Chatwoot fixed the same mismatches: chatwoot#5840/#6222 for Brazil, #14174/#14926 for Mexico.)
Pure functions, no database: storage asks for every form and matches any of them.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^\+?([0-9]{7,15})$")


def digits(number: str) -> str:
    """`+5215512345678` or `5215512345678` -> `5215512345678` ('' when it is not a number)."""
    match = _DIGITS.match((number or "").strip())
    return match.group(1) if match else ""


def equivalent_forms(number: str) -> tuple[str, ...]:
    """Every E.164 form of the same WhatsApp account, the given one first (deduplicated)."""
    d = digits(number)
    if not d:
        return ()
    forms = [d]
    if d.startswith("521") and len(d) == 13:  # MX: 52 1 + 10 digits -> 52 + 10 digits
        forms.append("52" + d[3:])
    elif d.startswith("52") and len(d) == 12:
        forms.append("521" + d[2:])
    elif d.startswith("55") and len(d) == 13 and d[4] == "9" and d[5] in "6789":  # BR: drop the ninth digit
        forms.append(d[:4] + d[5:])
    elif d.startswith("55") and len(d) == 12 and d[4] in "6789":  # BR 8-digit mobile: add it
        forms.append(d[:4] + "9" + d[4:])
    elif d.startswith("549") and len(d) == 13:  # AR: 54 9 + 10 digits -> 54 + 10 digits
        forms.append("54" + d[3:])
    elif d.startswith("54") and len(d) == 12:
        forms.append("549" + d[2:])
    return tuple(dict.fromkeys("+" + f for f in forms))
