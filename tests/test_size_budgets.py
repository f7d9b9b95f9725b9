"""Issue 16, item 8: every builder stays within Slack's message and view budgets at the sizes users reach.

Each case was refused by Slack before (msg_blocks_too_long above ~13,200 characters of text, view_too_large above
250 kB, 100 options per select); tests.blockkit applies Slack's limits, and the list goes end to end through the
fake Slack, which refuses what Slack refuses.
"""

from __future__ import annotations

from bot.services.audiences import AudienceInfo
from bot.services.contact_card import ContactCard
from bot.whatsapp.templates import Template, TemplateParam
from handlers.blocks.attributes import attributes_message
from handlers.blocks.audiences import groups_message
from handlers.blocks.broadcasts import params_view
from handlers.blocks.contact_card import contact_cards
from storage.models import Attribute, Contact
from tests.blockkit import check_blocks, check_view
from tests.conftest import RunningApp, app_seal
from tests.factories import add_contact


def _seal(value: str, purpose: str) -> str:
    """As long as the app's seal (value, separator, MAC), without needing a workspace key."""
    return app_seal(value, purpose)


def _attribute(i: int, choices: list[str] | None = None) -> Attribute:
    label = f"Merkmal mit einem recht langen Namen Nummer {i}"
    return Attribute(id=i, key=f"merkmal_{i}", label_de=label, label_en=label, type="text", choices=choices)


def test_three_cards_with_twenty_long_attributes_fit_one_message() -> None:
    cards = [
        ContactCard(
            contact=Contact(id=n, phone=f"+4917000000{n:02d}", messenger="whatsapp", name=f"Kunde {n}"),
            attributes=[(_attribute(i), "w" * 400) for i in range(20)],
        )
        for n in range(3)
    ]
    message = contact_cards(cards, "de", seal=_seal)
    check_blocks(message["blocks"])
    assert any(b.get("block_id", "").endswith("|head") for b in message["blocks"])  # at least the first card


def test_forty_five_attributes_with_choices_fit_one_message() -> None:
    rows = [(_attribute(i, [f"Auswahl {j} " + "x" * 20 for j in range(20)]), 1000) for i in range(45)]
    message = attributes_message(rows, "de", seal=_seal)
    check_blocks(message["blocks"])
    assert "45" in message["text"]  # the title still counts all of them


def test_two_hundred_groups_fit_the_groups_message() -> None:
    infos = [AudienceInfo(id=i, name=f"Zielgruppe {i} " + "z" * 80, members=i, filter={}) for i in range(200)]
    check_blocks(groups_message(infos, "de", seal=_seal)["blocks"])


def test_the_parameters_view_with_a_hundred_attributes_and_fifteen_parameters_fits() -> None:
    params = tuple(TemplateParam(key=str(i), component="body", name=str(i)) for i in range(1, 16))
    template = Template("viele", "de", "MARKETING", "APPROVED", False, "Hallo " * 50, params)
    attributes = [(f"merkmal_{i:03d}_" + "k" * 55, f"Merkmal {i} " + "m" * 90) for i in range(100)]
    view = params_view(template, attributes, "de", {"tpl": "viele|de"})
    view["private_metadata"] = "x"
    check_view(view)


def test_the_list_with_two_hundred_groups_is_one_message_slack_takes(running_app: RunningApp) -> None:
    from bot.services import audiences

    for i in range(200):
        audiences.create(running_app.engine, f"Zielgruppe {i:03d} " + "z" * 80, {"conditions": []}, "test")
    for i in range(20):
        add_contact(running_app.engine, f"+49170000000{i:02d}", f"Kundin {i} " + "n" * 190)
    running_app.command("")
    message = running_app.fake.wait_for("response_url")[0].body  # the fake refuses msg_blocks_too_long
    check_blocks(message["blocks"])
