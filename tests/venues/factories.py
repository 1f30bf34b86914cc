"""Rows for the venues tests, written directly (fast fixtures); tests of a service call the service."""

from __future__ import annotations

from decimal import Decimal

import factory

from tenderhall.accounts.models import OrganizationKind, Role
from tenderhall.core import clock
from tenderhall.projects.models import Category, EvaluationMethod, Procedure, Project, ProjectStatus, Section
from tenderhall.venues.models import Booking, BookingPurpose, BookingStatus, Room, RoomKind, Seat
from tests.factories import OrganizationFactory, UserFactory


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    code = factory.Sequence(lambda n: f"VN-2026-{n:04d}")
    title = factory.Sequence(lambda n: f"示范道路改造工程{n}")
    category = Category.CONSTRUCTION
    procedure = Procedure.OPEN
    tenderer = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.TENDERER)
    agent = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.AGENT)
    centre = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.TRADING_CENTRE)
    status = ProjectStatus.REGISTERED
    created_by = factory.SubFactory(UserFactory, role=Role.AGENT)
    created_at = factory.LazyFunction(clock.now)


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = "第一标段"
    estimated_price = Decimal("1000000.00")
    bond_amount = Decimal("20000.00")
    evaluation_method = EvaluationMethod.COMPREHENSIVE


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room
        skip_postgeneration_save = True

    centre = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.TRADING_CENTRE)
    name = factory.Sequence(lambda n: f"第{n}开标室")
    kind = RoomKind.OPENING
    location = "三楼"

    @factory.post_generation
    def seats(self, create: bool, extracted: int | None, **kwargs: object) -> None:
        if create and extracted:
            Seat.objects.bulk_create(Seat(room=self, label=f"A{n:02d}") for n in range(1, extracted + 1))


class BookingFactory(factory.django.DjangoModelFactory):
    """A booking row as it would be after the service; for states the test does not exercise."""

    class Meta:
        model = Booking

    room = factory.SubFactory(RoomFactory)
    purpose = BookingPurpose.OPENING
    status = BookingStatus.REQUESTED
    requested_by = factory.SubFactory(UserFactory, role=Role.AGENT)
    requested_at = factory.LazyFunction(clock.now)
