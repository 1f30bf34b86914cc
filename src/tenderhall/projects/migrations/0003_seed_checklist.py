"""Install-time reference data: each category's registration checklist (服务要件清单) from
朝阳市公共资源交易平台服务标准 §6.2.2. Staff edit it afterwards through the services (logged);
this migration only fills an empty table, so re-running it never overwrites their edits."""

from django.db import migrations

# (category, [(name, required)]) in the order §6.2.2.1-6.2.2.4 list them.
CHECKLISTS = [
    (
        "construction",  # 6.2.2.1 工程建设
        [("公共资源进场交易申请表", True), ("市招标投标监管网项目备案表", True)],
    ),
    (
        "government_procurement",  # 6.2.2.2 政府采购
        [("公共资源进场交易申请表", True), ("财政采购系统项目备案或审批表", True)],
    ),
    (
        "land_mining",  # 6.2.2.3 土地使用权和矿业权出让
        [("公共资源进场交易申请表", True), ("出让委托书和相关附件", True)],
    ),
    (
        "state_assets",  # 6.2.2.4 资产交易; the auction contract only where there is one (如有)
        [
            ("公共资源进场交易申请表", True),
            ("资产处置批准文件", True),
            ("资产评估报告", True),
            ("委托拍卖合同（如有）", False),
        ],
    ),
]


def seed(apps, schema_editor):
    ChecklistItem = apps.get_model("projects", "ChecklistItem")
    if ChecklistItem.objects.exists():
        return
    for category, items in CHECKLISTS:
        for order, (name, required) in enumerate(items, start=1):
            ChecklistItem.objects.create(
                category=category,
                name=name,
                description="朝阳市公共资源交易平台服务标准 6.2.2",
                required=required,
                order=order,
            )


def unseed(apps, schema_editor):
    # Items that documents or reviews refer to stay (PROTECT); only untouched seed rows go.
    ChecklistItem = apps.get_model("projects", "ChecklistItem")
    ProjectDocument = apps.get_model("projects", "ProjectDocument")
    used = set(ProjectDocument.objects.values_list("checklist_item_id", flat=True))
    for category, items in CHECKLISTS:
        names = [name for name, _ in items]
        ChecklistItem.objects.filter(category=category, name__in=names).exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_review_round_submitted_by")]

    operations = [migrations.RunPython(seed, unseed)]
