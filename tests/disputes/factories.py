"""Projects and sections for the disputes tests, written directly with the projects models (the
projects app's own services are not needed to object to a section)."""

from __future__ import annotations

from decimal import Decimal

import factory

from tenderhall.accounts.models import OrganizationKind, Role
from tenderhall.core import clock
from tenderhall.projects.models import (
    Category,
    EvaluationMethod,
    Procedure,
    Project,
    ProjectStatus,
    Section,
    SectionStatus,
)
from tests.factories import OrganizationFactory, UserFactory


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    code = factory.Sequence(lambda n: f"DS-2026-{n:04d}")
    title = factory.Sequence(lambda n: f"示范学校教学楼建设工程{n}")
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
    number = 1
    name = "施工标段"
    estimated_price = Decimal("5000000.00")
    bond_amount = Decimal("80000.00")
    evaluation_method = EvaluationMethod.COMPREHENSIVE
    status = SectionStatus.ANNOUNCED
