"""`biz_opaque_callback_data`: the delivery id sent with every broadcast message, echoed by Meta in
every status webhook for it (`statuses[].biz_opaque_callback_data`, at most 512 characters).

It lets a status settle a delivery whose message id we never learnt: a send whose answer was lost
(a crash, a dropped connection, a 502) is `unknown` until its `sent`/`delivered`/`read`/`failed`
status names it by delivery id.
"""

from __future__ import annotations

import re

PREFIX = "cb:d:"  # ours, so callback data of other systems on the same number is never taken for a delivery
_DELIVERY = re.compile(r"^cb:d:([1-9][0-9]{0,17})$")


def for_delivery(delivery_id: int) -> str:
    return f"{PREFIX}{delivery_id}"


def delivery_of(data: object) -> int | None:
    """The delivery id in a status's callback data, or None when it is not ours."""
    if not isinstance(data, str):
        return None
    match = _DELIVERY.match(data)
    return int(match.group(1)) if match else None
