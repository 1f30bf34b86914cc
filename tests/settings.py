"""Test settings: a throw-away data dir; PostgreSQL when TENDERHALL_TEST_DATABASE_URL is set."""

import os
import tempfile

os.environ.setdefault("TENDERHALL_DATA_DIR", tempfile.mkdtemp(prefix="tenderhall-test-"))
os.environ["TENDERHALL_TESTING"] = "1"

from tenderhall.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
# Argon2 stays installed; tests that check it ask for it explicitly.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Live-server threads must not keep connections open past a request, or PostgreSQL cannot drop
# the test database at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Nor may a pool hold them (the production pool is exercised by benchmarks/bench_opening.py).
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405

# Decrypt in the unlocking request (the thread pool path has its own tests).
TENDERHALL_DECRYPT_INLINE = True
