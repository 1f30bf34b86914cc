"""PostgreSQL: compress the stored pools with lz4 instead of pglz (about 8 ms less per extraction
of 200,000 experts, docs/extraction.md). A server built without lz4 keeps pglz: nothing else
depends on it."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, migrations, transaction


def use_lz4(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute(
                "ALTER TABLE experts_extractiondemand ALTER COLUMN pool SET COMPRESSION lz4"
            )
    except DatabaseError:
        pass  # PostgreSQL < 14 or without lz4: the default compression stays


class Migration(migrations.Migration):
    dependencies = [("experts", "0002_specialty_tree")]
    operations = [migrations.RunPython(use_lz4, migrations.RunPython.noop)]
