"""A drill report as one self-contained HTML file (inline CSS and SVG, no external resources)."""

from __future__ import annotations

import json
from html import escape

LEVELS = [
    (6, "RTO 数分钟 minutes; RPO 0", "数据零丢失和远程集群支持 zero data loss, remote cluster"),
    (5, "RTO 数分钟至2天; RPO 0-30 分钟", "实时数据传输及完整设备支持 real-time data transfer, full equipment"),
    (4, "RTO 数小时至2天; RPO 数小时至1天", "电子传输及完整设备支持 electronic transfer, full equipment"),
    (3, "RTO 12小时以上; RPO 数小时至1天", "电子传输和部分设备支持 electronic transfer, partial equipment"),
    (2, "RTO 24小时以上; RPO 1-7天", "备用场地支持 backup site"),
    (1, "RTO 2天以上; RPO 1-7天", "基本支持 basic support"),
]


def _chart(report: dict) -> str:
    series = report["load"]["series"]
    steps = report["timeline"]
    if not series:
        return "<p>no load recorded</p>"
    w, h, left, top = 900, 220, 40, 20
    tmax = max(max(s["t"] for s in series), max(s["offset_s"] for s in steps)) or 1
    x = lambda t: left + (w - left - 10) * t / tmax
    y = lambda frac: top + (h - top - 30) * (1 - frac)
    pts = " ".join(f"{x(s['t']):.1f},{y(s['ok'] / s['attempts'] if s['attempts'] else 0):.1f}" for s in series)
    out = [
        f'<svg viewBox="0 0 {w} {h + 120}" width="100%" xmlns="http://www.w3.org/2000/svg" font-size="10" font-family="sans-serif">',
        f'<rect x="{left}" y="{top}" width="{w - left - 10}" height="{h - top - 30}" fill="#f7f7f7"/>',
    ]
    for frac in (0, 0.5, 1):
        out.append(f'<text x="2" y="{y(frac) + 3:.0f}">{int(frac * 100)}%</text>'
                   f'<line x1="{left}" x2="{w - 10}" y1="{y(frac):.1f}" y2="{y(frac):.1f}" stroke="#ddd"/>')
    out.append(f'<polyline points="{pts}" fill="none" stroke="#1a7f37" stroke-width="2"/>')
    for i, s in enumerate(steps):
        xx = x(s["offset_s"])
        color = "#cf222e" if s.get("mark") in ("fault", "declared") else "#0969da"
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{h - 10 + (i % 6) * 18}" stroke="{color}" stroke-dasharray="3,2"/>'
            f'<text x="{xx + 2:.1f}" y="{h - 2 + (i % 6) * 18}" fill="{color}">{escape(s["step"])} ({s["offset_s"]:.1f}s)</text>'
        )
    for t in range(0, int(tmax) + 1, max(1, int(tmax // 10) or 1)):
        out.append(f'<text x="{x(t):.1f}" y="{h - 18}" text-anchor="middle">{t}s</text>')
    out.append("</svg>")
    return "".join(out)


def html(report: dict) -> str:
    ok = report["result"] == "pass"
    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td><td>{escape(str(c['target']))}</td><td>{escape(str(c['measured']))}</td>"
        f"<td class={'pass' if c['pass'] else 'fail'}>{'PASS' if c['pass'] else 'FAIL'}</td></tr>"
        for c in report["checks"]
    )
    steps = "".join(f"<tr><td>{s['offset_s']:.3f}</td><td>{escape(s['step'])}</td><td>{escape(s['detail'])}</td></tr>"
                    for s in report["timeline"])
    lvl = report.get("gbt20988_level")
    g = report.get("gbt20988") or {}
    ev = g.get("evidence") or {}
    claimed = lvl if lvl else "none"
    notc = ("Not claimed because: " + escape("; ".join(g["not_claimed_because"])) + ".") \
        if g.get("not_claimed_because") else ""
    levels = "".join(f"<tr class={'hit' if n == lvl else ''}><td>{n}</td><td>{escape(a)}</td><td>{escape(b)}</td></tr>"
                     for n, a, b in LEVELS)
    env = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in report["environment"].items())
    meas = "".join(f"<tr><td>{escape(k)}</td><td>{escape(json.dumps(v, ensure_ascii=False))}</td></tr>"
                   for k, v in report["measurements"].items())
    journal = "".join(
        f"<tr><td>{r.get('seq')}</td><td>{escape(str(r.get('ts')))}</td><td>{escape(str(r.get('command')))}</td>"
        f"<td>{escape(str(r.get('result')))}</td><td>{escape(str(r.get('hash', ''))[:16])}…</td></tr>"
        for r in report["journal"]
    )
    rpo = report["rpo"]
    pre = report.get("pre_fault") or {}
    pre_rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(json.dumps(v, ensure_ascii=False))}</td></tr>"
                       for k, v in pre.items() if k != "taken")
    w = report.get("no_sync_window")
    window = ("<p>No failover in this drill: the primary kept its synchronous partner.</p>" if not w else
              f"<p>From the promotion at {w['from_s']:.1f} s the new primary had <b>no synchronous partner for "
              f"{w['seconds']:.1f} s</b>: RPO = 0 did not hold until {escape(w['until'])}"
              + (f" ({w['until_s']:.1f} s)" if w.get("until_s") is not None else "") + ".</p>")
    found = report.get("findings") or []
    finding_rows = "".join(
        f"<tr><td>{escape(f['finding'])}</td><td>{escape(str(f['measured']))}</td><td>{escape(str(f['target']))}</td>"
        f"<td>{escape(str(f['owner'] or '(to assign)'))}</td><td>{escape(str(f['due'] or '(to set)'))}</td>"
        f"<td>{escape(f['status'])}</td></tr>" for f in found)
    findings = (f"<table><tr><th>finding</th><th>measured</th><th>target</th><th>owner 责任人</th><th>due 完成期限</th>"
                f"<th>status</th></tr>{finding_rows}</table>" if found else "<p>No findings: every check passed.</p>")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>egov drill {escape(report["id"])} — {escape(report["scenario"])}</title>
<style>body{{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei",sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse;margin:1em 0;width:100%}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}}.pass{{color:#1a7f37;font-weight:bold}}
.fail{{color:#cf222e;font-weight:bold}}.hit{{background:#fff3c4;font-weight:bold}}h1 span{{font-size:60%}}</style></head><body>
<h1>灾备演练报告 Disaster-recovery drill <span class="{"pass" if ok else "fail"}">{"PASS" if ok else "FAIL"}</span></h1>
<p><b>{escape(report["estate"]["display_name"])}</b> ({escape(report["estate"]["name"])}) — scenario <b>{escape(report["scenario"])}</b>:
{escape(report["description"])}<br>drill {escape(report["id"])}, started {escape(report["started"])}, {report["duration_s"]} s;
estate digest <code>{escape(report["estate"]["digest"])}</code></p>
{"<p class=fail>aborted: " + escape(report["error"]) + "</p>" if report.get("error") else ""}
<h2>Targets vs measured 指标对照</h2><table><tr><th>check</th><th>target</th><th>measured</th><th>result</th></tr>{rows}</table>
<p>RPO counted: {rpo.get("acknowledged")} writes acknowledged to clients, {rpo.get("found")} found on the primary
({escape(str(rpo.get("checked_on")))}) afterwards, <b>{rpo.get("lost")} lost</b>.
Every attempt accounted for (Jepsen's model): {rpo.get("attempted", "-")} attempted, {rpo.get("failed", "-")} failed
(definitely not written), {rpo.get("indeterminate", "-")} indeterminate (answer lost after sending), of which
{rpo.get("recovered_indeterminate", "-")} found; {rpo.get("unexpected", "-")} unexpected (found though they failed).</p>
<h2>Findings 问题与整改</h2>{findings}
<h2>Before the fault 故障前快照</h2><table>{pre_rows}</table>
<h2>Window without a synchronous partner 无同步备库窗口</h2>{window}
<h2>Timeline and load 时间线与业务成功率</h2>{_chart(report)}
<p>Green: share of writes acknowledged per 0.5 s ({report["load"]["acknowledged"]}/{report["load"]["attempted"]} at
{report["load"]["rate_per_s"]}/s through the service endpoint). Dashed: steps (red: fault and declaration).</p>
<table><tr><th>t (s)</th><th>step</th><th>detail</th></tr>{steps}</table>
<h2>Measurements</h2><table>{meas}</table>
<h2>灾难恢复能力等级 Capability level ({escape(g.get("standard", "GB/T 20988-2025"))})</h2>
<p>RTO/RPO measured here imply level <b>{g.get("implied_by_rto_rpo")}</b>; level claimed: <b>{claimed}</b>.
{notc}</p>
<p>Measured by egov: {escape("; ".join(g.get("measured", [])))}.<br>
Attested only (not measured; the operator's records): {escape("; ".join(g.get("attested_only", [])))}.</p>
<p>Backup evidence: last backup {escape(str((ev.get("last_backup") or {}).get("label", "none")))}
(ended {escape(str((ev.get("last_backup") or {}).get("stop", "-")))}); last passing restore test
{escape(str((ev.get("last_restore_test") or {}).get("id", "none")))}.</p>
<table><tr><th>level</th><th>RTO / RPO</th><th>capability</th></tr>{levels}</table>
<h2>Environment 环境</h2><table>{env}</table>
<h2>Journal records 操作日志 (hash-chained)</h2><table><tr><th>seq</th><th>time</th><th>command</th><th>result</th><th>hash</th></tr>{journal}</table>
</body></html>"""
