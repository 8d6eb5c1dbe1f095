"""Load the hundred service items and their guides."""

import json

from egov_apps.catalogue import items


def migrate(cur):
    for i in items():
        cur.execute(
            "INSERT INTO service_items (code, name, department, deadline_days, fee, conditions, materials, steps) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                i["code"],
                i["name"],
                i["department"],
                i["deadline_days"],
                i["fee"],
                json.dumps(i["conditions"], ensure_ascii=False),
                json.dumps(i["materials"], ensure_ascii=False),
                json.dumps(i["steps"], ensure_ascii=False),
            ),
        )
