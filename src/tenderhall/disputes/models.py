"""Objections (异议) and, later, complaints (投诉), at every stage of a section.

The mechanics live here (who answers, by when, whether steps must wait); the stage's own app
decides who may raise one and until when (e.g. notices for tender documents, 条例 Art 22)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ObjectionStage(models.TextChoices):
    TENDER_DOCUMENTS = "tender_documents", _("招标文件 / Tender documents")
    OPENING = "opening", _("开标 / Opening")
    EVALUATION_RESULT = "evaluation_result", _("评标结果 / Evaluation result")


class ObjectionStatus(models.TextChoices):
    RAISED = "raised", _("待答复 / Awaiting answer")
    ANSWERED = "answered", _("已答复 / Answered")
    WITHDRAWN = "withdrawn", _("已撤回 / Withdrawn")


class Objection(models.Model):
    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="objections")
    stage = models.CharField(max_length=30, choices=ObjectionStage.choices)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    raised_at = models.DateTimeField()
    answer_due = models.DateTimeField()
    # Whether the section's steps must wait for the answer (条例 Art 22: 作出答复前，应当暂停招标投标活动).
    suspends_section = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=ObjectionStatus.choices, default=ObjectionStatus.RAISED)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]

    def can_answer(self) -> bool:
        return self.status == ObjectionStatus.RAISED
