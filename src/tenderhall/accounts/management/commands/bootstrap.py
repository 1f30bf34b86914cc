"""`tenderhall bootstrap`: the trading centre and its first staff member, on an empty platform."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenderhall.accounts.services import platform_bootstrap
from tenderhall.core.errors import DomainError


class Command(BaseCommand):
    help = "Create the trading centre and its first staff user (refused once anyone exists)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--centre-name", required=True)
        parser.add_argument("--centre-uscc", required=True, help="统一社会信用代码 of the trading centre")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--region", default="", help="the centre's region (its experts' regional pool)")

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("TENDERHALL_BOOTSTRAP_PASSWORD") or getpass.getpass("Password: ")
        try:
            user = platform_bootstrap(
                centre_name=options["centre_name"],
                centre_uscc=options["centre_uscc"],
                username=options["username"],
                password=password,
                email=options["email"],
                region=options["region"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"platform ready; staff user {user.username} of {user.organization}")
