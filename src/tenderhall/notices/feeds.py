"""The Atom feed of published notices: the same content as the portal and the public API
(seed 001 §6.4.1: what is published must agree everywhere)."""

from __future__ import annotations

import datetime as dt

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from tenderhall.notices import selectors
from tenderhall.notices.models import Notice


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


class NoticesFeed(Feed):
    feed_type = Atom1Feed
    title = _("Published notices")
    subtitle = _("Announcements and publicity of the public resource trading platform")

    def link(self) -> str:
        return reverse("notices:portal")

    def items(self) -> list[Notice]:
        return selectors.latest_published_notices()

    def item_title(self, item: Notice) -> str:
        return item.title

    def item_link(self, item: Notice) -> str:
        return reverse("notices:notice", args=[item.pk])

    def item_pubdate(self, item: Notice) -> dt.datetime | None:
        return item.published_at

    def item_updateddate(self, item: Notice) -> dt.datetime | None:
        return item.published_at

    def item_categories(self, item: Notice) -> list[str]:
        return [item.kind, item.project.category]

    def item_description(self, item: Notice) -> str:
        data = selectors.notice_public_data(item)
        lines = [
            f"{data['kind_label']} · {data['project']['code']} {data['project']['title']}",
            data["body"],
            f"SHA-256: {data['body_sha256']}",
            f"发布时间 / Published: {_when(data['published_at'])}",
        ]
        if data["docs_sale_start"]:
            lines.append(
                f"招标文件发售 / Documents on sale: {data['docs_sale_start']} – {data['docs_sale_end']}"
            )
        if data["bid_deadline"]:
            lines.append(f"投标截止 / Bid deadline: {_when(data['bid_deadline'])}")
        if data["opening_at"]:
            lines.append(f"开标 / Opening: {_when(data['opening_at'])}")
        for section in data["sections"]:
            if section["opening_recipient"]:
                lines.append(f"{section['code']} 开标公钥 / opening key: {section['opening_recipient']}")
        return "\n\n".join(lines)
