#!/usr/bin/env python3
"""Deterministic synthetic seed for the four base databases, as tab-separated rows for COPY.

Standard library only: the base_databases role copies this file to the database host
and pipes `seed.py TABLE --towns FILE` into `COPY TABLE FROM STDIN`. The same seed
always gives the same rows. Identifiers are valid:
- citizen ID numbers (GB 11643-1999): area code + birth date + sequence + ISO 7064 MOD 11-2 check;
- unified social credit codes (GB 32100-2015): with the organisation code's own check (GB 11714)
  and the MOD 31 check character.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date, timedelta

AREA = "440113"  # 广州市番禺区
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

SURNAMES = "陈李黄张梁刘何林罗郭杨冯吴周谢郑麦邓苏钟曾叶朱蔡彭卢潘许赖余"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰志红建国文辉俊嘉欣婷浩然子轩雨晴梓涵"
LAND_USE = ["耕地", "园地", "林地", "草地", "商服用地", "工矿仓储用地", "住宅用地", "公共管理与公共服务用地",
            "交通运输用地", "水域及水利设施用地"]
INDICATORS = [("gdp", "地区生产总值", "亿元"), ("population", "常住人口", "万人"),
              ("fiscal_revenue", "一般公共预算收入", "亿元"), ("retail_sales", "社会消费品零售总额", "亿元"),
              ("fixed_investment", "固定资产投资", "亿元"), ("industrial_output", "规模以上工业总产值", "亿元")]
ENTITY_WORDS = ["科技", "贸易", "实业", "电子", "食品", "物流", "建材", "服装", "珠宝", "文化", "餐饮", "医药"]
ENTITY_FORMS = ["有限公司", "有限责任公司", "股份有限公司", "个体工商户", "农民专业合作社"]


def id_check(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return "10X98765432"[total % 11]


def valid_citizen_id(s: str) -> bool:
    return len(s) == 18 and s[:17].isdigit() and id_check(s[:17]) == s[17]


def org_check(first8: str) -> str:
    total = sum(_ORG_CHARS.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


def uscc_check(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def valid_uscc(s: str) -> bool:
    if len(s) != 18 or any(c not in _USCC_CHARS for c in s):
        return False
    return uscc_check(s[:17]) == s[17] and org_check(s[8:16]) == s[16]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def persons(towns: list[dict], n: int, rng: random.Random):
    """citizen_id, name, sex, birth_date, household_id, address, town_id"""
    start = date(1935, 1, 1)
    seen: set[str] = set()
    household = 0
    i = 0
    while i < n:
        town = towns[i % len(towns)]
        if i % 3 == 0:
            household += 1
            village = rng.choice(town["villages"] or [town["name"]])
            address = f"广东省广州市番禺区{village}{rng.randint(1, 300)}号"
        birth = start + timedelta(days=rng.randrange(0, 32000))
        seq = rng.randrange(0, 1000)
        body = f"{AREA}{birth:%Y%m%d}{seq:03d}"
        cid = body + id_check(body)
        if cid in seen:
            continue
        seen.add(cid)
        sex = "M" if seq % 2 else "F"
        yield (cid, _name(rng), sex, birth.isoformat(), f"H{AREA}{household:08d}", address, town["id"])
        i += 1


def entities(towns: list[dict], n: int, rng: random.Random):
    """uscc, name, legal_representative, registered_capital (10k CNY), established, town_id"""
    seen: set[str] = set()
    i = 0
    while i < n:
        town = towns[i % len(towns)]
        org = "".join(rng.choice(_ORG_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        org += org_check(org)
        body = "91" + AREA + org
        code = body + uscc_check(body)
        if code in seen:
            continue
        seen.add(code)
        name = f"广州市番禺区{town['name']}{rng.choice(ENTITY_WORDS)}{i:05d}{rng.choice(ENTITY_FORMS)}"
        established = date(1990, 1, 1) + timedelta(days=rng.randrange(0, 12500))
        yield (code, name, _name(rng), f"{rng.choice((3, 10, 50, 100, 500, 1000, 5000)) * rng.randint(1, 9)}.00",
               established.isoformat(), town["id"])
        i += 1


def parcels(towns: list[dict], n: int, rng: random.Random):
    """parcel_id, town_id, land_use, area_m2, lon, lat"""
    for i in range(n):
        town = towns[i % len(towns)]
        lon = 113.25 + rng.random() * 0.30
        lat = 22.75 + rng.random() * 0.33
        yield (f"{AREA}{i + 1:010d}", town["id"], rng.choice(LAND_USE), f"{rng.uniform(80, 50000):.2f}",
               f"{lon:.6f}", f"{lat:.6f}")


def indicators(towns: list[dict], rng: random.Random, years=range(2015, 2026)):
    """year, town_id, indicator, name, unit, value"""
    for t in towns:
        base = {k: rng.uniform(20, 400) for k, _, _ in INDICATORS}
        for y in years:
            for key, name, unit in INDICATORS:
                base[key] *= rng.uniform(0.97, 1.09)
                yield (str(y), t["id"], key, name, unit, f"{base[key]:.2f}")


def write(rows, out) -> int:
    n = 0
    for r in rows:
        out.write("\t".join(r) + "\n")
        n += 1
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", choices=["persons", "entities", "parcels", "indicators"])
    ap.add_argument("--towns", required=True, help="JSON file: [{id, name, villages: [...]}, ...]")
    ap.add_argument("--rows", type=int, default=0)
    ap.add_argument("--seed", default="egov")
    a = ap.parse_args(argv)
    with open(a.towns, encoding="utf-8") as f:
        towns = json.load(f)
    rng = random.Random(f"{a.seed}:{a.table}")
    gen = {
        "persons": lambda: persons(towns, a.rows or 100_000, rng),
        "entities": lambda: entities(towns, a.rows or 10_000, rng),
        "parcels": lambda: parcels(towns, a.rows or 20_000, rng),
        "indicators": lambda: indicators(towns, rng),
    }[a.table]()
    write(gen, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
