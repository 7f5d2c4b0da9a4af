"""The planning ruleset as data: each rule an id, titles and rationale in Chinese and English, a severity
(fail | warn), a kind of measure and its parameters. Admins edit it (page, CLI), the store versions it; this
module checks a ruleset, serializes it (stable JSON with a version) and holds the default one.

Kinds of rule (what :mod:`layers.planning.engine` measures for each):

- ``near_during``: a protected place of ``categories`` within ``distance_m`` (edge to edge, metres) while the
  outdoor seating is open inside ``window`` (OSM opening_hours; none: at any time);
- ``min_value``: the site's ``property`` (a declared number) is at least ``minimum``;
- ``complaints_near``: at least ``min_count`` complaints of ``categories`` within ``distance_m`` (or naming
  the site) received in the last ``days`` days.

The defaults follow other Chinese cities' practice and the national noise periods (see
``shared/reference/outdoor-dining-practice.md``): they are a starting point the bureau edits, not
Qingdao's rules, and each rationale says so.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field

from . import hours
from .kinds import CATEGORIES, COMPLAINT_CATEGORIES, outdoor_dining_kind

FORMAT = "scenemap.planning.ruleset/1"
SEVERITIES = {"fail": ("不通过", "fail"), "warn": ("提示", "warn")}
MAX_DISTANCE_M = 5000
MAX_DAYS = 3650


class RulesetError(ValueError):
    """A ruleset that cannot be used; ``problems`` are (field, message) pairs, each message Chinese then
    English after " · ", each naming the field."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("；".join(f"{where}: {message}" for where, message in problems))


def _number_fields() -> dict[str, tuple[str, str]]:
    """The outdoor-dining fields whose values are numbers (by their JSON Schema type)."""
    from .. import fieldtypes

    return {f.name: (f.zh, f.en) for f in outdoor_dining_kind().fields
            if fieldtypes.of(f).schema.get("type") in ("number", "integer")}


# --- parameter checks: (value) -> (clean value, None) or (None, reason) -------------------------------------

def _distance(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, f"距离应为米数 · a distance must be a number of metres, not {value!r}"[:200]
    if value < 0:
        return None, f"距离不能为负（{value:g}）· a distance cannot be negative ({value:g})"
    if value > MAX_DISTANCE_M:
        return None, f"距离不超过 {MAX_DISTANCE_M} 米（{value:g}）· at most {MAX_DISTANCE_M} m ({value:g})"
    return float(value), None


def _categories(known: dict[str, tuple[str, str]], what_zh: str, what_en: str):
    def check(value):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
            return None, f"应为类别列表 · must be a non-empty list of {what_en} categories"
        unknown = [v for v in value if v not in known]
        if unknown:
            return None, (f"「{'、'.join(unknown)}」不是{what_zh}类别（{'、'.join(f'{k} {z}' for k, (z, _) in known.items())}）· "
                          f"{', '.join(map(repr, unknown))} is not a {what_en} category ({', '.join(known)})")[:400]
        return tuple(dict.fromkeys(value)), None
    return check


def _window(value):
    if value is None:
        return None, None
    reason = hours.check(value) if isinstance(value, str) else "应为 OSM 营业时间文字 · must be OSM opening_hours text"
    return (None, reason) if reason else (value, None)


def _label(value):
    if value is None or (isinstance(value, str) and len(value) <= 80):
        return value, None
    return None, "应为 80 字以内的文字 · must be text of at most 80 characters"


def _count(minimum: int, maximum: int):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            return None, f"应为 {minimum}-{maximum} 的整数 · must be a whole number from {minimum} to {maximum}, not {value!r}"[:200]
        return value, None
    return check


def _property(value):
    known = _number_fields()
    if value not in known:
        return None, (f"「{value}」不是外摆点的数值字段（{'、'.join(known)}）· {value!r} is not a number field of "
                      f"outdoor-dining sites ({', '.join(known)})")[:300]
    return value, None


def _minimum(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None, f"应为不小于 0 的数 · must be a number of at least 0, not {value!r}"[:200]
    return float(value), None


#: Each kind of rule: its parameters -> (check, required).
KINDS: dict[str, dict[str, tuple]] = {
    "near_during": {"categories": (_categories(CATEGORIES, "敏感点", "sensitive-site"), True),
                    "distance_m": (_distance, True), "window": (_window, False),
                    "window_zh": (_label, False), "window_en": (_label, False)},
    "min_value": {"property": (_property, True), "minimum": (_minimum, True)},
    "complaints_near": {"categories": (_categories(COMPLAINT_CATEGORIES, "投诉", "complaint"), True),
                        "distance_m": (_distance, True), "days": (_count(1, MAX_DAYS), True),
                        "min_count": (_count(1, 100000), True)},
}
KIND_LABELS = {"near_during": ("时段内的距离", "distance while open"), "min_value": ("最小值", "minimum value"),
               "complaints_near": ("附近投诉", "complaints nearby")}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    severity: str
    title_zh: str
    title_en: str
    params: dict = field(hash=False)
    rationale_zh: str = ""
    rationale_en: str = ""

    def param(self, name: str, default=None):
        return self.params.get(name, default)

    @property
    def title(self) -> str:
        return f"{self.title_zh} · {self.title_en}"

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "severity": self.severity,
                "title": {"zh": self.title_zh, "en": self.title_en},
                "rationale": {"zh": self.rationale_zh, "en": self.rationale_en},
                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(self.params.items())}}


@dataclass(frozen=True)
class Ruleset:
    rules: tuple[Rule, ...]
    #: the ruleset's version in the store (0: not stored yet, e.g. the shipped default)
    version: int = 0

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": self.version, "rules": [r.to_dict() for r in self.rules]}

    def to_json(self) -> str:
        """Stable JSON: the same ruleset always gives the same text (keys sorted, rules in their order)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, indent=2) + "\n"

    @property
    def digest(self) -> str:
        """A digest of the rules (not the version number): reports cite it with the version."""
        rules = json.dumps([r.to_dict() for r in self.rules], ensure_ascii=False, sort_keys=True,
                           separators=(",", ":"))
        return hashlib.sha256(rules.encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, text: str | bytes) -> Ruleset:
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise RulesetError([("ruleset", f"不是有效的 JSON · not valid JSON ({str(exc)[:120]})")]) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data) -> Ruleset:
        """A checked ruleset from its JSON form; RulesetError names every field that is wrong."""
        return parse(data)


def _text(problems, where: str, value, required: bool = True, limit: int = 2000) -> str:
    if value is None or value == "":
        if required:
            problems.append((where, "必填 · is required"))
        return ""
    if not isinstance(value, str) or len(value) > limit:
        problems.append((where, f"应为 {limit} 字以内的文字 · must be text of at most {limit} characters"))
        return ""
    return value


def _pair(problems, where: str, value, required: bool) -> tuple[str, str]:
    if value is None and not required:
        return "", ""
    if not isinstance(value, dict):
        problems.append((where, '应为 {"zh": …, "en": …} · must be {"zh": …, "en": …}'))
        return "", ""
    return (_text(problems, f"{where}.zh", value.get("zh"), required),
            _text(problems, f"{where}.en", value.get("en"), required))


def parse(data) -> Ruleset:
    problems: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise RulesetError([("ruleset", "应为 JSON 对象 · must be a JSON object")])
    if data.get("format", FORMAT) != FORMAT:
        problems.append(("format", f"不认识的格式 · unknown format {data.get('format')!r}; expected {FORMAT!r}"))
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        problems.append(("version", f"应为不小于 0 的整数 · must be a whole number ≥ 0, not {version!r}"))
        version = 0
    extra = sorted(set(data) - {"format", "version", "rules"})
    if extra:
        problems.append((extra[0], f"不认识的字段 · unknown field {', '.join(extra)}"))
    raw = data.get("rules")
    if not isinstance(raw, list) or not raw:
        problems.append(("rules", "应为非空的规则列表 · must be a non-empty list of rules"))
        raise RulesetError(problems)
    rules, seen = [], set()
    for n, item in enumerate(raw):
        rule = _rule(problems, n, item, seen)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise RulesetError(problems)
    return Ruleset(tuple(rules), version)


def _rule(problems, n: int, item, seen: set) -> Rule | None:
    where = f"rules[{n}]"
    if not isinstance(item, dict):
        problems.append((where, "应为对象 · must be an object"))
        return None
    rid = item.get("id")
    if not isinstance(rid, str) or not rid.strip() or len(rid) > 40:
        problems.append((f"{where}.id", f"应为 40 字以内的编号 · must be an id of at most 40 characters, not {rid!r}"[:200]))
        rid = f"#{n}"
    elif rid in seen:
        problems.append((f"{where}.id", f"编号 {rid} 重复 · id {rid!r} is used twice"))
    seen.add(rid)
    where = f"rules[{rid}]"
    before = len(problems)
    extra = sorted(set(item) - {"id", "kind", "severity", "title", "rationale", "params"})
    if extra:
        problems.append((f"{where}.{extra[0]}", f"不认识的字段 · unknown field {', '.join(extra)}"))
    severity = item.get("severity")
    if severity not in SEVERITIES:
        problems.append((f"{where}.severity", f"「{severity}」不是严重程度（fail 不通过、warn 提示）· {severity!r} is not "
                                              "a severity (fail, warn)"))
    kind = item.get("kind")
    if kind not in KINDS:
        problems.append((f"{where}.kind", f"「{kind}」不是规则类型 · {kind!r} is not a kind of rule ({', '.join(KINDS)})"))
    title = _pair(problems, f"{where}.title", item.get("title"), True)
    rationale = _pair(problems, f"{where}.rationale", item.get("rationale"), False)
    params_in = item.get("params")
    params = {}
    if not isinstance(params_in, dict):
        problems.append((f"{where}.params", "应为对象 · must be an object"))
    elif kind in KINDS:
        spec = KINDS[kind]
        for name in sorted(set(params_in) - set(spec)):
            problems.append((f"{where}.params.{name}", f"{kind} 规则没有这个参数 · {kind} rules have no parameter "
                                                       f"{name!r} ({', '.join(spec)})"))
        for name, (check, required) in spec.items():
            if name not in params_in or params_in[name] is None:
                if required:
                    problems.append((f"{where}.params.{name}", "必填 · is required"))
                continue
            value, reason = check(params_in[name])
            if reason:
                problems.append((f"{where}.params.{name}", reason))
            elif value is not None:
                params[name] = value
    if len(problems) > before:
        return None
    return Rule(rid, kind, severity, title[0], title[1], params, rationale[0], rationale[1])


_PRACTICE_ZH = "参考其他城市做法（杭州：住宅等噪声敏感建筑周边原则上 22:00 后不外摆；兰州七里河：学校、医院门口 100 米内禁止外摆），非青岛规定，可由管理部门修改。"
_PRACTICE_EN = ("Other Chinese cities' practice (Hangzhou: not after 22:00 near homes and other noise-sensitive "
                "buildings; Lanzhou Qilihe: none within 100 m of school and hospital gates), not Qingdao's rules: "
                "the bureau edits them.")

DEFAULT = {
    "format": FORMAT, "version": 0,
    "rules": [
        {"id": "R1", "kind": "near_during", "severity": "fail",
         "title": {"zh": "居民小区 30 米内夜间外摆", "en": "Seating open in quiet hours within 30 m of homes"},
         "rationale": {"zh": "夜间 22:00-06:00 为《声环境质量标准》GB 3096-2008 的夜间时段，居住区夜间限值 45 dB(A)。" + _PRACTICE_ZH,
                       "en": "22:00-06:00 is the night period of GB 3096-2008 (residential areas: 45 dB(A) at "
                             "night). " + _PRACTICE_EN},
         "params": {"categories": ["residential"], "distance_m": 30, "window": "22:00-06:00",
                    "window_zh": "夜间（22:00-06:00）", "window_en": "quiet hours (22:00-06:00)"}},
        {"id": "R2", "kind": "near_during", "severity": "warn",
         "title": {"zh": "学校、幼儿园 50 米内上学时段外摆", "en": "Seating open in school hours within 50 m of a school"},
         "rationale": {"zh": "上学日（含调休上班日，不含法定节假日）07:30-17:30 学校周边保持安静与通行安全。" + _PRACTICE_ZH,
                       "en": "Quiet and safe pavements around schools on school days (adjusted working days "
                             "included, public holidays not), 07:30-17:30. " + _PRACTICE_EN},
         "params": {"categories": ["school", "kindergarten"], "distance_m": 50,
                    "window": "Mo-Fr 07:30-17:30; PH off",
                    "window_zh": "上学时段（上学日 07:30-17:30）", "window_en": "school hours (school days 07:30-17:30)"}},
        {"id": "R3", "kind": "near_during", "severity": "warn",
         "title": {"zh": "医院、养老机构 50 米内外摆", "en": "Seating within 50 m of a hospital or elderly care"},
         "rationale": {"zh": "医疗和养老机构属 GB 3096 的 0-1 类声环境功能区（夜间 40-45 dB(A)），任何时段均需关注。" + _PRACTICE_ZH,
                       "en": "Hospitals and elderly care are class 0-1 areas of GB 3096 (40-45 dB(A) at night), "
                             "sensitive at any time. " + _PRACTICE_EN},
         "params": {"categories": ["hospital", "elderly_care"], "distance_m": 50}},
        {"id": "R4", "kind": "min_value", "severity": "fail",
         "title": {"zh": "人行道净宽不少于 1.5 米", "en": "At least 1.5 m of clear walkway"},
         "rationale": {"zh": "外摆后人行道须留出至少 1.5 米净宽，保障盲道和轮椅通行。",
                       "en": "Outdoor seating must leave at least 1.5 m of pavement free, for tactile paving "
                             "and wheelchairs."},
         "params": {"property": "clear_walkway_m", "minimum": 1.5}},
        {"id": "R5", "kind": "complaints_near", "severity": "warn",
         "title": {"zh": "近 90 天 50 米内噪声投诉 3 件以上", "en": "3 or more noise complaints within 50 m in 90 days"},
         "rationale": {"zh": "12345 热线噪声投诉集中说明已有扰民，续批或扩大外摆前应核实。",
                       "en": "Repeated 12345-hotline noise complaints show residents are already disturbed: "
                             "verify before renewing or enlarging the seating."},
         "params": {"categories": ["noise"], "distance_m": 50, "days": 90, "min_count": 3}},
    ],
}


@functools.lru_cache(maxsize=1)
def default() -> Ruleset:
    """The ruleset shipped with the product (version 0 until the store keeps one)."""
    return parse(DEFAULT)
