"""Loads the specialty code tree (专业分类) the expert database and extraction use.

Codes: a letter for the field (A 工程, B 政府采购, C 经济), two digits for the class, two more for
the subclass. A demand for a class (e.g. A02 市政) draws from every subclass under it."""

from __future__ import annotations

from typing import Any

from django.db import migrations

TREE: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("A01", "房屋建筑工程", [
        ("A0101", "土建"),
        ("A0102", "安装"),
        ("A0103", "装饰装修"),
        ("A0104", "建筑智能化"),
        ("A0105", "钢结构"),
    ]),
    ("A02", "市政公用工程", [
        ("A0201", "道路桥梁"),
        ("A0202", "给排水"),
        ("A0203", "燃气热力"),
        ("A0204", "园林绿化"),
        ("A0205", "城市轨道交通"),
    ]),
    ("A03", "水利工程", [
        ("A0301", "水工建筑"),
        ("A0302", "水利机电设备"),
        ("A0303", "河湖整治"),
        ("A0304", "农田水利"),
    ]),
    ("A04", "交通工程", [
        ("A0401", "公路路基路面"),
        ("A0402", "桥梁隧道"),
        ("A0403", "交通安全设施"),
        ("A0404", "港口航道"),
    ]),
    ("B01", "政府采购", [
        ("B0101", "货物"),
        ("B0102", "服务"),
        ("B0103", "工程"),
    ]),
    ("C01", "经济", [
        ("C0101", "工程造价"),
        ("C0102", "财务会计"),
        ("C0103", "法律"),
    ]),
]  # fmt: skip


def load(apps: Any, schema_editor: Any) -> None:
    specialty = apps.get_model("experts", "Specialty")
    for code, name, children in TREE:
        parent, _ = specialty.objects.update_or_create(code=code, defaults={"name": name, "parent": None})
        for child_code, child_name in children:
            specialty.objects.update_or_create(
                code=child_code, defaults={"name": child_name, "parent": parent}
            )


def unload(apps: Any, schema_editor: Any) -> None:
    specialty = apps.get_model("experts", "Specialty")
    codes = [code for code, _, _ in TREE]
    codes += [child for _, _, children in TREE for child, _ in children]
    specialty.objects.filter(code__in=codes, parent__isnull=False).delete()
    specialty.objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("experts", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
