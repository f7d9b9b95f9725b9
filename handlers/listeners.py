"""What every lazy listener shares: the ack that answers Slack within its 3 seconds.

Listeners register as `app.action(...)(ack=ack_only, lazy=[work])`: Slack gets its 200 at once and
the work runs on the lazy executor. Bolt passes arguments by name, so the parameter is `ack`.
The admin guard for listeners that change data is `handlers.context.refused`.
"""

from __future__ import annotations

from slack_bolt import Ack


def ack_only(ack: Ack) -> None:
    ack()
