"""The ruleset for people: each rule's parameters in words, what a change does (old → new, per rule and
parameter), and the admin's form read back into a ruleset's JSON form. Framework-free (the rules page and
``flask --app webmap planning rules`` both use it); the checking itself is :func:`layers.planning.rules.parse`'s.

The form names each rule's fields ``r<i>.<name>`` (``i`` its place in the ruleset; the rule's id and kind ride
along hidden): severity, titles and rationale in both languages, and the parameters its kind has (a
``near_during`` rule's categories, distance and window; a ``min_value`` rule's property and minimum; a
``complaints_near`` rule's categories, distance, days and count). What the admin typed is passed on as typed
when it is not a number, so the ruleset's own check names the field and says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from layers.planning.desk import changed_rules
from layers.planning.kinds import CATEGORIES, COMPLAINT_CATEGORIES
from layers.planning.rules import FORMAT, KIND_LABELS, KINDS, SEVERITIES, Ruleset, _number_fields

#: Each parameter's label (zh, en), in the order the form and the change list show them.
PARAM_LABELS: dict[str, tuple[str, str]] = {
    "categories": ("类别", "categories"),
    "distance_m": ("距离（米）", "distance (m)"),
    "window": ("时段（OSM 营业时间语法，留空为任何时段）", "window (OSM opening_hours; empty: at any time)"),
    "window_zh": ("时段说明（中文）", "window, in words (Chinese)"),
    "window_en": ("时段说明（英文）", "window, in words (English)"),
    "property": ("字段", "field"),
    "minimum": ("最小值", "minimum"),
    "days": ("天数", "days"),
    "min_count": ("至少件数", "at least (complaints)"),
}
#: The other fields of a rule a change may touch, labelled.
RULE_LABELS: dict[str, tuple[str, str]] = {
    "severity": ("严重程度", "severity"), "kind": ("类型", "kind"),
    "title.zh": ("标题（中文）", "title (Chinese)"), "title.en": ("标题（英文）", "title (English)"),
    "rationale.zh": ("依据（中文）", "rationale (Chinese)"), "rationale.en": ("依据（英文）", "rationale (English)"),
}
NUMBER_PARAMS = ("distance_m", "minimum", "days", "min_count")
TEXT_PARAMS = ("window", "window_zh", "window_en", "property")


def category_choices(kind: str) -> dict[str, tuple[str, str]]:
    """The categories a rule of ``kind`` chooses from (protected places, or complaints)."""
    return COMPLAINT_CATEGORIES if kind == "complaints_near" else CATEGORIES


def property_choices() -> dict[str, tuple[str, str]]:
    """The outdoor-dining number fields a ``min_value`` rule may name."""
    return _number_fields()


def number(value) -> str:
    """A number as a person writes it: 30, 1.5 (not 30.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def severity_words(severity: str) -> str:
    zh, en = SEVERITIES.get(severity, (severity, severity))
    return f"{zh} {en}"


def kind_words(kind: str) -> str:
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return f"{zh} · {en}"


def _categories(kind: str, values) -> tuple[str, str]:
    known = category_choices(kind)
    values = list(values or ())
    return ("、".join(known.get(v, (v, v))[0] for v in values), ", ".join(known.get(v, (v, v))[1] for v in values))


def describe(rule) -> str:
    """A rule's parameters in words, "中文 · English"."""
    p = rule.params
    if rule.kind == "near_during":
        zh_cats, en_cats = _categories(rule.kind, p.get("categories"))
        window = p.get("window")
        zh_when = p.get("window_zh") or (f"时段 {window}" if window else "任何时段")
        en_when = (f"in {p['window_en']}" if p.get("window_en") else f"during {window}" if window else "at any time")
        return (f"{zh_cats} {number(p.get('distance_m'))} 米内，{zh_when}外摆营业 · outdoor seating open "
                f"{en_when} within {number(p.get('distance_m'))} m of {en_cats}")
    if rule.kind == "min_value":
        zh, en = property_choices().get(p.get("property"), (p.get("property"), p.get("property")))
        return f"{zh}不少于 {number(p.get('minimum'))} · {en} at least {number(p.get('minimum'))}"
    if rule.kind == "complaints_near":
        zh_cats, en_cats = _categories(rule.kind, p.get("categories"))
        return (f"近 {p.get('days')} 天内 {number(p.get('distance_m'))} 米内（或指明本点）{zh_cats}投诉不少于 "
                f"{p.get('min_count')} 件 · at least {p.get('min_count')} {en_cats} complaints within "
                f"{number(p.get('distance_m'))} m (or naming the site) in the last {p.get('days')} days")
    return ", ".join(f"{k}={v}" for k, v in sorted(p.items()))


def _value_words(rule_kind: str, name: str, value) -> str:
    if value is None or value == "":
        return "（无 none）"
    if name == "severity":
        return severity_words(value)
    if name == "kind":
        return kind_words(value)
    if name == "categories":
        zh, en = _categories(rule_kind, value)
        return f"{zh} · {en}"
    if name == "property":
        zh, en = property_choices().get(value, (value, value))
        return f"{value}（{zh} · {en}）"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value)
    return str(value)


def _flat(rule) -> dict:
    data = rule.to_dict()
    out = {"severity": data["severity"], "kind": data["kind"], "title.zh": data["title"]["zh"],
           "title.en": data["title"]["en"], "rationale.zh": data["rationale"]["zh"],
           "rationale.en": data["rationale"]["en"]}
    out.update({f"params.{k}": v for k, v in data["params"].items()})
    return out


def _label(name: str) -> str:
    zh, en = RULE_LABELS.get(name) or PARAM_LABELS.get(name.removeprefix("params."), (name, name))
    return f"{zh} · {en}"


def differences(before: Ruleset, after: Ruleset) -> dict:
    """What changes from ``before`` to ``after``: the rule ids added, removed and changed (as
    :func:`layers.planning.desk.changed_rules` says), and for each changed rule every field with its old and
    new value in words: ``{"added": [...], "removed": [...], "changed": [...], "rows": [{"rule", "field",
    "label", "old", "new"}], "empty": bool}``."""
    ids = changed_rules(before, after)
    rows = []
    for rule_id in ids["changed"]:
        old, new = before.get(rule_id), after.get(rule_id)
        a, b = _flat(old), _flat(new)
        for name in list(dict.fromkeys([*a, *b])):
            if a.get(name) != b.get(name):
                rows.append({"rule": rule_id, "field": name, "label": _label(name),
                             "old": _value_words(old.kind, name.removeprefix("params."), a.get(name)),
                             "new": _value_words(new.kind, name.removeprefix("params."), b.get(name))})
    return {**ids, "rows": rows, "empty": not (ids["added"] or ids["removed"] or ids["changed"]),
            "warnings": stale_wording(before, after)}


#: The words of a rule a person reads (titles, the window's name) and the parameters they usually quote.
_WORDING = ("title.zh", "title.en", "params.window_zh", "params.window_en")
_QUOTED = ("params.distance_m", "params.window", "params.min_count", "params.days", "params.minimum")


def _quoted(value) -> list[str]:
    """How a parameter's value is written in a title: 30 (for 30.0), or each clock time of a window."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [number(value)]
    if isinstance(value, str):
        return re.findall(r"\d{1,2}:\d{2}", value)
    return []


def stale_wording(before: Ruleset, after: Ruleset) -> list[str]:
    """Where a changed parameter's old value is still written in the rule's unchanged words (a title that says
    "30 米" once the distance is 40): the page and the CLI say so before saving, since reports print the
    titles. Words that changed with the value are taken as the author's."""
    out = []
    for rule_id in changed_rules(before, after)["changed"]:
        a, b = _flat(before.get(rule_id)), _flat(after.get(rule_id))
        for name in _QUOTED:
            if a.get(name) == b.get(name):
                continue
            new_words = set(_quoted(b.get(name)))
            for old in _quoted(a.get(name)):
                if old in new_words:
                    continue
                stale = [w for w in _WORDING if a.get(w) == b.get(w) and re.search(
                    rf"(?<![\d.:]){re.escape(old)}(?![\d:])", str(b.get(w) or ""))]
                if stale:
                    out.append(f"{rule_id} 的{'、'.join(_label(w).split(' · ')[0] for w in stale)}仍写着「{old}」，但"
                               f"{_label(name).split(' · ')[0]}已改为「{_value_words(after.get(rule_id).kind, name[7:], b.get(name))}」："
                               f"报告会印出这些文字，请一并修改 · {rule_id}'s "
                               f"{', '.join(_label(w).split(' · ')[-1] for w in stale)} still say {old!r} but "
                               f"{_label(name).split(' · ')[-1]} is now {' '.join(_quoted(b.get(name))) or b.get(name)!r}: reports "
                               "print these words, "
                               "change them too")
    return out


def difference_lines(before: Ruleset, after: Ruleset) -> list[str]:
    """:func:`differences` as lines of text (the command line prints them)."""
    diff = differences(before, after)
    if diff["empty"]:
        return ["没有改动 · no changes"]
    lines = []
    for rule_id in diff["added"]:
        rule = after.get(rule_id)
        lines.append(f"+ 新增 added {rule_id}: {rule.title} [{severity_words(rule.severity)}] {describe(rule)}")
    for rule_id in diff["removed"]:
        lines.append(f"- 删除 removed {rule_id}: {before.get(rule_id).title}")
    for row in diff["rows"]:
        lines.append(f"~ 修改 changed {row['rule']} {row['label']}: {row['old']} → {row['new']}")
    lines += [f"! 注意 check: {warning}" for warning in diff["warnings"]]
    return lines


# --- the form -------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _typed_number(text: str | None):
    """A number typed in a form, as a number; empty → None; anything else as typed (the ruleset's check then
    names the field and says why)."""
    text = (text or "").strip()
    if not text:
        return None
    if re.fullmatch(r"[+-]?[0-9]{1,12}", text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return text[:100]


def from_form(form: Mapping) -> dict:
    """The ruleset (its JSON form, unchecked) an admin's form describes. ``form`` is a request's form (a
    MultiDict: ``getlist`` for the category boxes)."""
    try:
        count = min(int(form.get("rules", "0")), 200)
    except ValueError:
        count = 0
    rules = []
    for i in range(count):
        def get(name, i=i):
            value = form.get(f"r{i}.{name}")
            return value.strip() if isinstance(value, str) else None
        kind = get("kind")
        params: dict = {}
        for name in KINDS.get(kind, {}):
            if name == "categories":
                params[name] = [v for v in form.getlist(f"r{i}.categories") if v]
            elif name in NUMBER_PARAMS:
                params[name] = _typed_number(get(name))
            else:
                params[name] = get(name) or None
        rules.append({"id": get("id"), "kind": kind, "severity": get("severity"),
                      "title": {"zh": get("title_zh") or "", "en": get("title_en") or ""},
                      "rationale": {"zh": get("rationale_zh") or "", "en": get("rationale_en") or ""},
                      "params": {k: v for k, v in params.items() if v is not None or k == "categories"}})
    return {"format": FORMAT, "rules": rules}


def form_rules(data: dict) -> list[dict]:
    """A ruleset's JSON form (checked, or as typed) as the form's rows: every value as the text a field shows."""
    rows = []
    for i, rule in enumerate(data.get("rules") or []):
        if not isinstance(rule, dict):
            continue
        params = rule.get("params") if isinstance(rule.get("params"), dict) else {}
        title = rule.get("title") if isinstance(rule.get("title"), dict) else {}
        rationale = rule.get("rationale") if isinstance(rule.get("rationale"), dict) else {}
        kind = rule.get("kind")
        shown = {}
        for name in KINDS.get(kind, {}):
            value = params.get(name)
            if name == "categories":
                shown[name] = list(value) if isinstance(value, (list, tuple)) else []
            elif value is None:
                shown[name] = ""
            else:
                shown[name] = number(value) if isinstance(value, (int, float)) else str(value)
        rows.append({"index": i, "id": str(rule.get("id") or ""), "kind": kind, "severity": rule.get("severity"),
                     "title_zh": title.get("zh") or "", "title_en": title.get("en") or "",
                     "rationale_zh": rationale.get("zh") or "", "rationale_en": rationale.get("en") or "",
                     "params": shown, "key": f"rules[{rule.get('id')}]"})
    return rows


def problem_label(where: str) -> str:
    """A problem's field path (``rules[R1].params.distance_m``) in words: "R1 距离（米）· distance (m)"."""
    found = re.fullmatch(r"rules\[(.*?)\]\.(.+)", where)
    if not found:
        return where
    rule_id, name = found.groups()
    return f"{rule_id} {_label(name)}"
