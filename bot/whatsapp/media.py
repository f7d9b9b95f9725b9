"""Which files WhatsApp takes as a template's media header, checked before anything is uploaded.

Meta's supported media types (Cloud API reference, "Supported media types":
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types): images
JPEG/PNG up to 5 MB, videos MP4/3GPP up to 16 MB, documents up to 100 MB; a template's document header
takes PDF only (Meta's OpenAPI spec, DocumentParameter: "Only PDF documents are supported for
media-based message templates"). A file that breaks these would be refused by the upload or, worse,
accepted and then fail every send; the user hears why at once instead.
"""

from __future__ import annotations

MB = 1024 * 1024
HEADER_MEDIA: dict[str, tuple[tuple[str, ...], int]] = {
    "image": (("image/jpeg", "image/png"), 5 * MB),
    "video": (("video/mp4", "video/3gpp"), 16 * MB),
    "document": (("application/pdf",), 100 * MB),
}
# Slack's `filetype` names for the file_input element of each kind (what the picker offers).
SLACK_FILETYPES = {"image": ["jpg", "jpeg", "png"], "video": ["mp4", "3gp"], "document": ["pdf"]}


def header_problem(kind: str, mime_type: str, size: int) -> str | None:
    """`type` when WhatsApp does not take this file as a `kind` header, `size` when it is too big, else None."""
    types, limit = HEADER_MEDIA[kind]
    if mime_type.split(";")[0].strip().lower() not in types:
        return "type"
    if size > limit:
        return "size"
    return None


def limit_mb(kind: str) -> int:
    return HEADER_MEDIA[kind][1] // MB


def allowed(kind: str) -> str:
    return ", ".join(t.split("/")[1].upper() for t in HEADER_MEDIA[kind][0])
