"""Rows for the experts tests, written directly (fast fixtures); tests of a service call the service.

Shared by the three parts (registry, extraction, committee). The specialty tree comes from the data
migration 0002_specialty_tree (test databases run migrations): fetch a node with ``specialty(code)``;
``SpecialtyFactory`` makes extra nodes outside the real tree (codes ``Z…``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import factory

from tenderhall.accounts.models import Role
from tenderhall.core import clock, ids
from tenderhall.experts.id_numbers import make_id_number, mask_id_number
from tenderhall.experts.models import (
    BadBehaviourRecord,
    Expert,
    ExpertKind,
    ExpertLeave,
    ExpertRelationship,
    ExpertStatus,
    Specialty,
)
from tenderhall.experts.services.registry import expert_specialties_sync
from tests.factories import UserFactory

_FIRST_BIRTHDAY = dt.date(1960, 1, 1)


def specialty(code: str) -> Specialty:
    """A node of the migrated specialty tree, e.g. ``specialty("A0101")`` (土建)."""
    return Specialty.objects.get(code=code)


def expert_id_number(n: int) -> str:
    """The n-th factory identity number: unique for every n, valid check character (GB 11643)."""
    return make_id_number(
        address="320102", born=_FIRST_BIRTHDAY + dt.timedelta(days=n // 1000), sequence=n % 1000
    )


def expert_employer_uscc(n: int) -> str:
    return ids.make_uscc(f"91320000EX{n:06d}")


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"Z{n:04d}")
    name = factory.Sequence(lambda n: f"测试专业{n}")
    parent = None


class ExpertFactory(factory.django.DjangoModelFactory):
    """An active expert of 示范市 with a valid ID number, employer USCC and phone.

    ``ExpertFactory(employer=org)`` takes the employer's name and USCC; ``specialties=["A0101",
    "A0102"]`` (codes or Specialty rows) replaces the default (A0101 土建, or C0101 造价 for an
    economic expert); ``ExpertFactory(with_account=True)`` also creates the expert's user."""

    class Meta:
        model = Expert
        skip_postgeneration_save = True

    class Params:
        employer = None
        with_account = factory.Trait(
            user=factory.SubFactory(
                UserFactory,
                role=Role.EXPERT,
                username=factory.LazyAttribute(lambda u: f"expert_{u.factory_parent.id_number[-8:]}"),
                display_name=factory.SelfAttribute("..name"),
            )
        )

    name = factory.Sequence(lambda n: f"专家{n:04d}")
    id_number = factory.Sequence(expert_id_number)
    id_number_masked = factory.LazyAttribute(lambda e: mask_id_number(e.id_number))
    employer_name = factory.LazyAttributeSequence(
        lambda e, n: e.employer.name if e.employer is not None else f"示范设计院{n}有限公司"
    )
    employer_uscc = factory.LazyAttributeSequence(
        lambda e, n: e.employer.uscc if e.employer is not None else expert_employer_uscc(n)
    )
    region = "示范市"
    kind = ExpertKind.TECHNICAL
    title = "高级工程师"
    years_of_practice = 10
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    status = ExpertStatus.ACTIVE
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)

    @factory.post_generation
    def specialties(
        self, create: bool, extracted: Iterable[str | Specialty] | None, **kwargs: object
    ) -> None:
        if not create:
            return
        if extracted is None:
            extracted = ["C0101"] if self.kind == ExpertKind.ECONOMIC else ["A0101"]
        nodes = [s if isinstance(s, Specialty) else specialty(s) for s in extracted]
        self.specialties.set(nodes)
        # The links carry copies of region and status (what extraction pools read).
        expert_specialties_sync(expert_ids=[self.pk])


class ExpertLeaveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExpertLeave

    expert = factory.SubFactory(ExpertFactory)
    starts_on = factory.LazyFunction(clock.today_local)
    ends_on = factory.LazyAttribute(lambda leave: leave.starts_on)
    reason = "出差"
    created_at = factory.LazyFunction(clock.now)


class ExpertRelationshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExpertRelationship

    expert = factory.SubFactory(ExpertFactory)
    organization_uscc = factory.Sequence(lambda n: ids.make_uscc(f"91320000RL{n:06d}"))
    organization_name = factory.Sequence(lambda n: f"关联公司{n}")
    relation = "近亲属任职"
    declared_at = factory.LazyFunction(clock.now)


class BadBehaviourRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BadBehaviourRecord

    expert = factory.SubFactory(ExpertFactory)
    description = "评标中未按评标办法评审"
    occurred_on = factory.LazyFunction(clock.today_local)
    suspended_until = factory.LazyAttribute(lambda r: r.occurred_on + dt.timedelta(days=180))
    recorded_by = factory.SubFactory(UserFactory, role=Role.STAFF)
    recorded_at = factory.LazyFunction(clock.now)
