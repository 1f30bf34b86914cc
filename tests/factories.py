"""factory_boy factories. They write rows directly (fast fixtures); tests of a service call the
service itself."""

from __future__ import annotations

import factory

from tenderhall.accounts.models import Organization, OrganizationKind, Role, User
from tenderhall.core import clock, ids

PASSWORD = "Correct-horse-9"

ROLE_KIND = {
    Role.STAFF: OrganizationKind.TRADING_CENTRE,
    Role.OPERATOR: OrganizationKind.TRADING_CENTRE,
    Role.AUDITOR: OrganizationKind.SUPERVISOR,
    Role.SUPERVISOR: OrganizationKind.SUPERVISOR,
    Role.AGENT: OrganizationKind.AGENT,
    Role.TENDERER: OrganizationKind.TENDERER,
    Role.BIDDER: OrganizationKind.BIDDER,
}


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试机构{n}有限公司")
    uscc = factory.Sequence(lambda n: ids.make_uscc(f"91320000MA{n:06d}"))
    kind = OrganizationKind.BIDDER
    region = "示范市"
    created_at = factory.LazyFunction(clock.now)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.BIDDER
    display_name = factory.LazyAttribute(lambda u: u.username)
    organization = factory.LazyAttribute(
        lambda u: OrganizationFactory(kind=ROLE_KIND[u.role]) if u.role in ROLE_KIND else None
    )
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    date_joined = factory.LazyFunction(clock.now)

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])
