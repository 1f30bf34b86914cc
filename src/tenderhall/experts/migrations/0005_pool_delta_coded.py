"""ExtractionDemand.pool: from a JSON array of ids to delta-coded bytes (experts.id_lists,
docs/extraction.md "Performance"). The stored pools keep their meaning: the same sorted ids, the
committed hash is over their canonical JSON as before. A stored pool that is not a strictly
increasing list of ids was not written by the application (it would not replay either): the
migration stops and names it rather than change it."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, migrations, transaction

import tenderhall.experts.id_lists

BATCH = 200


def to_coded(apps: Any, schema_editor: Any) -> None:
    Demand = apps.get_model("experts", "ExtractionDemand")
    rows = []
    for demand in Demand.objects.using(schema_editor.connection.alias).only("pk", "pool").iterator():
        pool = list(demand.pool or [])
        try:
            tenderhall.experts.id_lists.encode_ids(pool)
        except ValueError as exc:
            raise RuntimeError(
                f"extraction demand {demand.pk}: the stored pool is not a sorted list of distinct ids "
                f"({exc}); it cannot have been written by the application — inspect it before migrating"
            ) from exc
        demand.pool_coded = pool
        rows.append(demand)
        if len(rows) >= BATCH:
            Demand.objects.using(schema_editor.connection.alias).bulk_update(rows, ["pool_coded"])
            rows = []
    if rows:
        Demand.objects.using(schema_editor.connection.alias).bulk_update(rows, ["pool_coded"])


def to_json(apps: Any, schema_editor: Any) -> None:
    Demand = apps.get_model("experts", "ExtractionDemand")
    rows = []
    for demand in Demand.objects.using(schema_editor.connection.alias).only("pk", "pool_coded").iterator():
        demand.pool = list(demand.pool_coded or [])
        rows.append(demand)
        if len(rows) >= BATCH:
            Demand.objects.using(schema_editor.connection.alias).bulk_update(rows, ["pool"])
            rows = []
    if rows:
        Demand.objects.using(schema_editor.connection.alias).bulk_update(rows, ["pool"])


def use_lz4(apps: Any, schema_editor: Any) -> None:
    # As 0003 for the JSON column: lz4 rather than pglz for the TOAST compression of long pools.
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("ALTER TABLE experts_extractiondemand ALTER COLUMN pool SET COMPRESSION lz4")
    except DatabaseError:
        pass  # PostgreSQL < 14 or without lz4: the default compression stays


class Migration(migrations.Migration):
    dependencies = [("experts", "0004_venue_draw_commitment")]
    operations = [
        migrations.AddField(
            model_name="extractiondemand",
            name="pool_coded",
            field=tenderhall.experts.id_lists.IdListField(default=list),
        ),
        migrations.RunPython(to_coded, to_json),
        migrations.RemoveField(model_name="extractiondemand", name="pool"),
        migrations.RenameField(model_name="extractiondemand", old_name="pool_coded", new_name="pool"),
        migrations.RunPython(use_lz4, migrations.RunPython.noop),
    ]
