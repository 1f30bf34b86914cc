"""Forms only parse input; the services decide (DESIGN §3)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from tenderhall.projects.models import Category, EvaluationMethod, Procedure

MAX_SECTIONS = 5


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


class ProjectForm(forms.Form):
    title = forms.CharField(label=_("Project title"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    procedure = forms.ChoiceField(label=_("Procedure"), choices=Procedure.choices)
    tenderer = forms.TypedChoiceField(label=_("Tenderer"), coerce=int)
    agent = forms.TypedChoiceField(label=_("Agent"), coerce=int, required=False, empty_value=None)
    centre = forms.TypedChoiceField(label=_("Trading centre"), coerce=int)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(
        self,
        *args: Any,
        tenderers: list[tuple[int, str]],
        agents: list[tuple[int, str]],
        centres: list[tuple[int, str]],
        agent_optional: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "tenderer").choices = tenderers
        _choices(self, "agent").choices = [("", _("— none —")), *agents] if agent_optional else agents
        self.fields["agent"].required = not agent_optional
        _choices(self, "centre").choices = centres


class SectionForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Section name"), max_length=200)
    estimated_price = forms.CharField(label=_("Estimated price (yuan)"), max_length=30)
    bond_amount = forms.CharField(label=_("Bid bond (yuan, at most 2%)"), max_length=30)
    evaluation_method = forms.ChoiceField(
        label=_("Evaluation method"), choices=[("", "—"), *EvaluationMethod.choices]
    )
    weight_price = forms.CharField(label=_("Weight: price"), max_length=10, required=False)
    weight_technical = forms.CharField(label=_("Weight: technical"), max_length=10, required=False)
    weight_business = forms.CharField(label=_("Weight: business"), max_length=10, required=False)
    k_min = forms.CharField(label=_("K from"), max_length=10, required=False)
    k_max = forms.CharField(label=_("K to"), max_length=10, required=False)
    custodians = forms.TypedMultipleChoiceField(
        label=_("Opening-key custodians (blank: the defaults)"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    custodian_threshold = forms.IntegerField(label=_("Custodians needed (k)"), initial=2, min_value=0)

    def __init__(self, *args: Any, custodian_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "custodians").choices = custodian_choices

    def evaluation_params(self) -> dict[str, Any]:
        """The parameters the chosen method takes, as the service expects them (strings)."""
        data = self.cleaned_data
        method = data.get("evaluation_method")
        if method == EvaluationMethod.COMPREHENSIVE:
            return {
                "weights": {
                    "price": data.get("weight_price", ""),
                    "technical": data.get("weight_technical", ""),
                    "business": data.get("weight_business", ""),
                }
            }
        if method == EvaluationMethod.BENCHMARK_PRICE:
            return {"k_min": data.get("k_min", ""), "k_max": data.get("k_max", "")}
        return {}


def params_initial(method: str, params: dict[str, Any]) -> dict[str, Any]:
    weights = params.get("weights", {}) if method == EvaluationMethod.COMPREHENSIVE else {}
    return {
        "weight_price": weights.get("price", ""),
        "weight_technical": weights.get("technical", ""),
        "weight_business": weights.get("business", ""),
        "k_min": params.get("k_min", ""),
        "k_max": params.get("k_max", ""),
    }


NewSectionFormSet = formset_factory(
    SectionForm, extra=MAX_SECTIONS, max_num=MAX_SECTIONS, absolute_max=MAX_SECTIONS
)


def edit_section_formset(existing: int) -> Any:
    """The project's sections plus blank forms up to five in all (at least one blank)."""
    extra = max(MAX_SECTIONS - existing, 1)
    return formset_factory(
        SectionForm,
        extra=extra,
        can_delete=True,
        max_num=existing + extra,
        absolute_max=existing + extra,
    )


class DocumentUploadForm(forms.Form):
    checklist_item_id = forms.IntegerField(widget=forms.HiddenInput)
    file = forms.FileField(label=_("File"))


class ReturnForm(forms.Form):
    item_ids = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.CheckboxSelectMultiple)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, items: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "item_ids").choices = items


class ConfirmForm(forms.Form):
    responsible_staff = forms.TypedChoiceField(label=_("Responsible staff member"), coerce=int)

    def __init__(self, *args: Any, staff: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "responsible_staff").choices = staff


class ChecklistItemForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=400, required=False)
    required = forms.BooleanField(label=_("Required"), required=False, initial=True)


class ChecklistItemEditForm(forms.Form):
    item_id = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=400, required=False)
    required = forms.BooleanField(label=_("Required"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)


class ChecklistMoveForm(forms.Form):
    item_id = forms.IntegerField()
    offset = forms.TypedChoiceField(coerce=int, choices=[(-1, "up"), (1, "down")])
