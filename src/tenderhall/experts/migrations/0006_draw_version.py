import json

from django.db import migrations, models


def versions_from_the_log(apps, schema_editor):
    """Each drawn request's version as its `committed` log event states it (version 2 events carry
    `draw_version`; events without it were drawn with version 1). So a database migrated back past
    this migration and forward again keeps every request replayable."""
    LogEvent = apps.get_model("core", "LogEvent")
    ExtractionRequest = apps.get_model("experts", "ExtractionRequest")
    committed = LogEvent.objects.filter(
        action="experts.extraction.committed", object_type="experts.extractionrequest"
    ).values_list("object_id", "payload")
    for object_id, payload in committed.iterator():
        version = json.loads(payload).get("data", {}).get("draw_version", 1)
        if version != 1:
            ExtractionRequest.objects.filter(pk=int(object_id)).update(draw_version=version)


class Migration(migrations.Migration):
    dependencies = [("experts", "0005_pool_delta_coded"), ("core", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="extractionrequest",
            name="draw_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.RunPython(versions_from_the_log, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="extractionrequest",
            name="draw_version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
    ]
