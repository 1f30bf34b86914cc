"""Forms only parse input; the services decide (DESIGN §3)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.notices.models import NoticeKind
from tenderhall.projects.models import Category, Procedure


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class PortalSearchForm(forms.Form):
    """The portal's GET filters (selectors.notice_filters_from checks them again)."""

    q = forms.CharField(label=_("Title"), required=False, max_length=200)
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    category = forms.ChoiceField(label=_("Category"), required=False, choices=_blank(Category.choices))
    procedure = forms.ChoiceField(label=_("Procedure"), required=False, choices=_blank(Procedure.choices))
    kind = forms.ChoiceField(label=_("Notice kind"), required=False, choices=_blank(NoticeKind.choices))
    published_from = forms.DateField(label=_("Published from"), required=False, widget=DateInput())
    published_to = forms.DateField(label=_("Published to"), required=False, widget=DateInput())


class _TimelineFields(forms.Form):
    docs_sale_start = forms.DateField(label=_("Documents on sale from"), required=False, widget=DateInput())
    docs_sale_end = forms.DateField(label=_("Documents on sale until"), required=False, widget=DateInput())
    bid_deadline = forms.DateTimeField(
        label=_("Bid deadline (Beijing time)"), required=False, widget=DateTimeInput()
    )
    opening_at = forms.DateTimeField(
        label=_("Opening time (empty: at the deadline)"), required=False, widget=DateTimeInput()
    )


class NoticeDraftForm(_TimelineFields):
    project = forms.TypedChoiceField(label=_("Project"), coerce=int)
    kind = forms.ChoiceField(label=_("Notice kind"), choices=NoticeKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea)
    sections = forms.TypedMultipleChoiceField(
        label=_("Sections"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    corrects = forms.TypedChoiceField(
        label=_("Corrects (correction notices only)"), coerce=int, required=False, empty_value=None
    )

    field_order = [
        "project",
        "kind",
        "title",
        "body",
        "sections",
        "corrects",
        "docs_sale_start",
        "docs_sale_end",
        "bid_deadline",
        "opening_at",
    ]

    def __init__(
        self,
        *args: Any,
        projects: list[tuple[int, str]],
        sections: list[tuple[int, str]],
        published: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = projects  # type: ignore[attr-defined]
        self.fields["sections"].choices = sections  # type: ignore[attr-defined]
        self.fields["corrects"].choices = _blank(published)  # type: ignore[attr-defined]


class NoticeEditForm(_TimelineFields):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea)
    sections = forms.TypedMultipleChoiceField(
        label=_("Sections"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    field_order = [
        "title",
        "body",
        "sections",
        "docs_sale_start",
        "docs_sale_end",
        "bid_deadline",
        "opening_at",
    ]

    def __init__(self, *args: Any, sections: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sections"].choices = sections  # type: ignore[attr-defined]


class PublishForm(forms.Form):
    affects_bid_preparation = forms.BooleanField(
        label=_("This correction may affect the preparation of bids"), required=False, initial=True
    )


class DocumentUploadForm(forms.Form):
    file = forms.FileField(label=_("Tender documents (one file, at most 200 MiB)"))
    note = forms.CharField(label=_("What changed"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class QuestionForm(forms.Form):
    text = forms.CharField(label=_("Your question"), widget=forms.Textarea(attrs={"rows": 4}))


class ClarificationForm(forms.Form):
    text = forms.CharField(label=_("Clarification"), widget=forms.Textarea(attrs={"rows": 5}))
    questions = forms.TypedMultipleChoiceField(
        label=_("Answers these questions"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    affects_bid_preparation = forms.BooleanField(
        label=_("May affect the preparation of bids"), required=False, initial=True
    )
    new_deadline = forms.DateTimeField(
        label=_("New bid deadline (Beijing time; required when the clarification comes late)"),
        required=False,
        widget=DateTimeInput(),
    )

    def __init__(self, *args: Any, questions: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["questions"].choices = questions  # type: ignore[attr-defined]


class ObjectionForm(forms.Form):
    text = forms.CharField(
        label=_("Your objection to the tender documents"), widget=forms.Textarea(attrs={"rows": 4})
    )
