"""The online service hall's hundred service items (网上办事大厅百项服务事项) with their guides.

Deterministic data: item code, name, department, statutory deadline (working days), fee,
conditions, materials and steps. Shared by the service hall (which publishes the guides)
and the one-stop approval system (which takes deadlines from them).
"""

from __future__ import annotations

_BASE = [
    ("个体工商户设立登记", "区市场监督管理局", 1), ("企业设立登记", "区市场监督管理局", 1),
    ("食品经营许可证核发", "区市场监督管理局", 10), ("药品零售企业许可", "区市场监督管理局", 15),
    ("社会保障卡申领", "区人力资源和社会保障局", 5), ("失业登记", "区人力资源和社会保障局", 1),
    ("就业创业证申领", "区人力资源和社会保障局", 5), ("职业技能鉴定证书补发", "区人力资源和社会保障局", 10),
    ("婚姻登记", "区民政局", 1), ("最低生活保障审批", "区民政局", 20), ("高龄津贴申领", "区民政局", 15),
    ("残疾人两项补贴申领", "区残疾人联合会", 15), ("居住证办理", "区公安分局", 10), ("户口迁移", "区公安分局", 20),
    ("机动车驾驶证换领", "区公安分局", 1), ("建设工程规划许可证核发", "区规划和自然资源局", 20),
    ("不动产登记", "区规划和自然资源局", 5), ("临时用地审批", "区规划和自然资源局", 20),
    ("建筑工程施工许可证核发", "区住房和城乡建设局", 7), ("商品房预售许可", "区住房和城乡建设局", 10),
    ("公共租赁住房申请", "区住房和城乡建设局", 20), ("医疗机构执业登记", "区卫生健康局", 20),
    ("出生医学证明办理", "区卫生健康局", 1), ("生育登记", "区卫生健康局", 1), ("税务登记信息确认", "区税务局", 1),
    ("发票领用", "区税务局", 1), ("民办学校设立审批", "区教育局", 20), ("义务教育入学申请", "区教育局", 15),
    ("道路运输经营许可", "区交通运输局", 20), ("排污许可证核发", "区生态环境分局", 20),
    ("建设项目环境影响评价审批", "区生态环境分局", 20), ("农村宅基地审批", "区农业农村局", 20),
    ("动物防疫条件合格证核发", "区农业农村局", 20), ("文化经营许可证核发", "区文化广电旅游体育局", 15),
]
_VARIANTS = ["", "（变更）", "（注销）"]
STEPS = ["网上申请", "窗口受理", "审查", "决定", "送达"]


def items() -> list[dict]:
    out = []
    n = 0
    for variant in _VARIANTS:
        for name, dept, days in _BASE:
            if len(out) == 100:
                return out
            n += 1
            fee = "不收费" if n % 4 else f"{(n % 9 + 1) * 10} 元"
            out.append(
                {
                    "code": f"440113-{n:04d}",
                    "name": name + variant,
                    "department": dept,
                    "deadline_days": max(1, days - (2 if variant else 0)),
                    "fee": fee,
                    "conditions": [f"申请人为{'自然人' if n % 2 else '法人或其他组织'}", "材料齐全、符合法定形式"],
                    "materials": [
                        "申请表",
                        "身份证明" if n % 2 else "统一社会信用代码证明",
                        *(["授权委托书（委托办理时）"] if n % 3 == 0 else []),
                    ],
                    "steps": STEPS,
                }
            )
    return out


BY_CODE = {i["code"]: i for i in items()}


def departments() -> list[str]:
    return sorted({d for _, d, _ in _BASE})
