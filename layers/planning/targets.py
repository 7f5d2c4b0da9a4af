"""The plan's targets as data (``data/planning/targets.json``), each measured from the live layers by a
declared measure: :data:`MEASURES` maps a measure id to one function, and a target names its measure.

A measure gives a :class:`Measure`: the value found (a count, or a state such as a designation level), what
was read, and whether it rests on sample data — or ``value=None`` with "no data yet" when no loaded layer
has the fields it needs (never a 0 that looks measured).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LEVELS = {"national": ("国家级", "national"), "provincial": ("省级", "provincial"),
          "municipal": ("市级", "municipal"), "district": ("区级", "district"), "none": ("未认定", "not designated")}
STATUS = {"planned": ("规划中", "planned"), "pilot": ("试点", "pilot"), "operating": ("运营中", "operating")}
NO_DATA = "暂无数据 · no data yet"


class TargetsError(ValueError):
    """A targets file that cannot be used (the message is Chinese · English and names the field)."""


@dataclass(frozen=True)
class Measure:
    value: int | str | None  # a count, a state, or None: no data
    read: str  # what was read (Chinese · English)
    sample: bool = False  # whether the features counted are all sample data

    @property
    def has_data(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Progress:
    """A target's progress: share 0-1 (None: no data) and the text that says it (not colour only)."""

    share: float | None
    text: str
    met: bool | None


def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "是"))


def _sample(features, members) -> bool:
    return bool(members) and all(features.properties[m].get("source") == "sample" for m in members)


def _count(layer, layer_id: str, keep: Callable[[dict], bool], what_zh: str, what_en: str) -> Measure:
    features = layer(layer_id)
    if features is None:
        return Measure(None, f"图层 {layer_id} 未载入 · layer {layer_id} not loaded")
    members = [i for i, p in enumerate(features.properties) if keep(p)]
    names = "、".join(str(features.properties[i].get("name")) for i in members[:10])
    listed = f"：{names}{'等' if len(members) > 10 else ''}" if names else ""
    return Measure(len(members), f"{what_zh} {len(members)} 个{listed} · {what_en}: {len(members)} "
                                 f"(of {len(features)} in {layer_id})", _sample(features, list(range(len(features)))))


def night_zones_provincial(layer, today: dt.date) -> Measure:
    """Night-economy zones designated provincial or national (field ``level``)."""
    return _count(layer, "night_economy_zones", lambda p: p.get("level") in ("provincial", "national"),
                  "省级及以上夜间经济集聚区", "night-economy zones at provincial or national level")


def taidong_national(layer, today: dt.date) -> Measure:
    """Taidong pedestrian street's designation ``level`` (national: the bid is won) and ``status``: the
    pedestrian street whose name has 台东."""
    features = layer("pedestrian_streets")
    if features is None:
        return Measure(None, "步行街图层未载入 · pedestrian_streets not loaded")
    found = [i for i, p in enumerate(features.properties) if "台东" in str(p.get("name") or "")]
    if not found:
        return Measure(None, "步行街图层中没有台东步行街 · no Taidong street in pedestrian_streets")
    props = features.properties[found[0]]
    level, status = props.get("level"), props.get("status")
    szh, sen = STATUS.get(status, (status or "未填", status or "not given"))
    if level not in LEVELS:
        return Measure(None, f"{props.get('name')}：未记录认定级别（level），状态 {szh} · no designation level "
                             f"recorded (level), status {sen}", props.get("source") == "sample")
    return Measure(level, f"{props.get('name')}：认定级别 {LEVELS[level][0]}，状态 {szh} · level {LEVELS[level][1]}, "
                          f"status {sen}", props.get("source") == "sample")


def demonstrations_this_year(layer, today: dt.date) -> Measure:
    """Municipal new-consumption-scene demonstrations designated this year: features of a layer declaring a
    ``batch_year`` (the demonstration batches) with this year's batch. No such layer: no data yet."""
    from ..registry import KINDS

    kinds = [k for k in KINDS if any(f.name == "batch_year" for f in k.fields)]
    if not kinds:
        return Measure(None, "尚无示范项目评选批次数据（无含 batch_year 的图层）· no demonstration batches loaded yet "
                             "(no layer has batch_year)")
    total, sample, read = 0, True, []
    for kind in kinds:
        features = layer(kind.id)
        if features is None:
            continue
        members = [i for i, p in enumerate(features.properties) if str(p.get("batch_year")) == str(today.year)]
        total += len(members)
        sample = sample and _sample(features, members)
        read.append(f"{kind.id} {len(members)}")
    if not read:
        return Measure(None, "示范项目图层未载入 · the demonstration layers are not loaded")
    return Measure(total, f"{today.year} 年批次 · batch {today.year}: {', '.join(read)}", sample and total > 0)


def pilots_24h_operating(layer, today: dt.date) -> Measure:
    """24-hour pilot zones (``is_24h_pilot``) with ``status`` operating."""
    features = layer("night_economy_zones")
    if features is None:
        return Measure(None, "夜间经济集聚区图层未载入 · night_economy_zones not loaded")
    pilots = [p for p in features.properties if _truthy(p.get("is_24h_pilot"))]
    operating = [p for p in pilots if p.get("status") == "operating"]
    names = "、".join(str(p.get("name")) for p in pilots)
    return Measure(len(operating), f"24小时试点 {len(pilots)} 个（{names or '无'}），运营中 {len(operating)} 个 · "
                                   f"{len(pilots)} 24-hour pilots, {len(operating)} operating",
                   bool(pilots) and all(p.get("source") == "sample" for p in pilots))


def pilots_24h(layer, today: dt.date) -> Measure:
    """24-hour business-zone pilots (``is_24h_pilot``) that exist: the plan asks to *explore* such pilots, so a
    pilot counts whether it is still a pilot or already operating (a merely planned one does not)."""
    features = layer("night_economy_zones")
    if features is None:
        return Measure(None, "夜间经济集聚区图层未载入 · night_economy_zones not loaded")
    pilots = [p for p in features.properties if _truthy(p.get("is_24h_pilot"))]
    running = [p for p in pilots if p.get("status") in ("pilot", "operating")]
    trial = sum(1 for p in running if p.get("status") == "pilot")
    names = "、".join(str(p.get("name")) for p in running)
    planned = len(pilots) - len(running)
    return Measure(len(running), f"24小时营业区试点 {len(running)} 个（{names or '无'}）：试点中 {trial}，运营中 "
                                 f"{len(running) - trial}" + (f"，另有规划中 {planned}" if planned else "") +
                                 f" · {len(running)} 24-hour pilots: {trial} in trial, {len(running) - trial} operating"
                                 + (f", {planned} more planned" if planned else ""),
                   bool(running) and all(p.get("source") == "sample" for p in running))


def weekend_blocks_operating(layer, today: dt.date) -> Measure:
    """Weekend time-sliced pedestrian blocks (``weekend_block``) with ``status`` operating."""
    features = layer("pedestrian_streets")
    if features is None:
        return Measure(None, "步行街图层未载入 · pedestrian_streets not loaded")
    blocks = [p for p in features.properties if _truthy(p.get("weekend_block"))]
    operating = [p for p in blocks if p.get("status") == "operating"]
    names = "、".join(str(p.get("name")) for p in blocks)
    return Measure(len(operating), f"周末分时段街区 {len(blocks)} 个（{names or '无'}），运营中 {len(operating)} 个 · "
                                   f"{len(blocks)} weekend blocks, {len(operating)} operating",
                   bool(blocks) and all(p.get("source") == "sample" for p in blocks))


def outdoor_dining_pilots(layer, today: dt.date) -> Measure:
    """Outdoor-dining sites in a pilot or in operation (``status`` pilot or operating)."""
    return _count(layer, "outdoor_dining_pilots", lambda p: p.get("status") in ("pilot", "operating"),
                  "外摆试点（试点或运营中）", "outdoor-dining sites in a pilot or operating")


def hq_clusters(layer, today: dt.date) -> Measure:
    """Headquarters clusters on the map."""
    return _count(layer, "hq_clusters", lambda p: True, "总部经济集聚区", "headquarters clusters")


#: measure id -> function(layer, today) -> Measure. A target names one of these.
MEASURES: dict[str, Callable] = {
    "night_zones_provincial_or_above": night_zones_provincial,
    "taidong_national_demonstration": taidong_national,
    "demonstrations_this_year": demonstrations_this_year,
    "pilots_24h": pilots_24h,
    "pilots_24h_operating": pilots_24h_operating,
    "weekend_blocks_operating": weekend_blocks_operating,
    "outdoor_dining_pilots": outdoor_dining_pilots,
    "hq_clusters": hq_clusters,
}


@dataclass(frozen=True)
class Target:
    id: str
    title_zh: str
    title_en: str
    section: str  # the plan's section, e.g. "四.17"
    quote: str  # the plan's words
    measure: str  # a MEASURES id
    minimum: int | None = None
    maximum: int | None = None
    state: str | None = None  # a state target (e.g. the level "national")
    per_year: bool = False


def parse(data) -> list[Target]:
    """Targets from the file's parsed JSON; TargetsError naming the field that is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise TargetsError("应为 {\"targets\": [...]} · must be {\"targets\": [...]}")
    out, seen = [], set()
    for i, item in enumerate(data["targets"]):
        named = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        where = f"targets[{i}]" + (f"（{named}）" if named and named.strip() else "")
        if not isinstance(item, dict):
            raise TargetsError(f"{where}: 应为对象 · must be an object")
        for name in ("id", "title_zh", "title_en", "section", "measure"):
            if not isinstance(item.get(name), str) or not item[name].strip():
                raise TargetsError(f"{where}.{name}: 必填文字 · required text")
        if item["id"] in seen:
            raise TargetsError(f"{where}.id: 编号重复 · duplicate id {item['id']!r}")
        seen.add(item["id"])
        if item["measure"] not in MEASURES:
            raise TargetsError(f"{where}.measure: 未知的度量「{item['measure']}」· unknown measure "
                               f"({', '.join(MEASURES)})")
        target = item.get("target") or {}
        low, high, state = target.get("min"), target.get("max"), target.get("state")
        for name, value in (("min", low), ("max", high)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise TargetsError(f"{where}.target.{name}: 应为非负整数 · must be a whole number ≥ 0")
        if low is None and state is None:
            raise TargetsError(f"{where}.target: 需要 min 或 state · needs min or state")
        if low is not None and high is not None and high < low:
            raise TargetsError(f"{where}.target.max: 不能小于 min · cannot be below min")
        out.append(Target(item["id"], item["title_zh"], item["title_en"], item["section"], item.get("quote", ""),
                          item["measure"], low, high, state, bool(item.get("per_year"))))
    return out


def load(path: str | Path) -> list[Target]:
    return parse(json.loads(Path(path).read_text(encoding="utf-8")))


def progress(target: Target, measure: Measure) -> Progress:
    """How far ``measure`` is towards ``target``, as a share and as text."""
    if not measure.has_data:
        return Progress(None, NO_DATA, None)
    if target.state is not None:
        met = measure.value == target.state
        zh, en = LEVELS.get(str(measure.value), (str(measure.value), str(measure.value)))
        want_zh, want_en = LEVELS.get(target.state, (target.state, target.state))
        return Progress(1.0 if met else 0.0, f"{'已达成' if met else '未达成'}：{zh}（目标 {want_zh}）· "
                                             f"{'met' if met else 'not met'}: {en} (target {want_en})", met)
    value = int(measure.value)
    goal = f"{target.minimum}-{target.maximum}" if target.maximum not in (None, target.minimum) else f"{target.minimum}"
    share = min(value / target.minimum, 1.0) if target.minimum else 1.0
    met = value >= (target.minimum or 0)
    return Progress(share, f"{value} / {goal}（{round(share * 100)}%）{'已达成' if met else '未达成'} · "
                           f"{value} of {goal} ({round(share * 100)}%) {'met' if met else 'not met'}", met)


def evaluate(targets: list[Target], layer, today: dt.date) -> list[dict]:
    """Each target with its measure and progress, for the page."""
    out = []
    for target in targets:
        measure = MEASURES[target.measure](layer, today)
        out.append({"target": target, "measure": measure, "progress": progress(target, measure)})
    return out


# --- the targets as a versioned store document (admins edit them; version 0 is the shipped file) ---------

#: The store document that holds the targets once an admin has saved them.
DOCUMENT = "planning.targets"


@dataclass(frozen=True)
class Loaded:
    targets: list
    version: int  # 0: the shipped file
    text: str  # the JSON the targets were read from (what an editor starts from)

    @property
    def plan(self) -> dict:
        """The plan's name and period from the file: {"name", "start", "end"} (None where not given)."""
        data = json.loads(self.text)
        period = data.get("period") if isinstance(data.get("period"), dict) else {}
        years = [period.get(k) if isinstance(period.get(k), int) else None for k in ("start", "end")]
        return {"name": data.get("plan") if isinstance(data.get("plan"), str) else None,
                "start": years[0], "end": years[1]}


def changes(before: list[Target], after: list[Target]) -> dict:
    """What making ``after`` live changes: target ids added, removed and changed (with the fields that change)."""
    old = {t.id: t for t in before}
    new = {t.id: t for t in after}
    changed = []
    for tid, t in new.items():
        if tid in old and t != old[tid]:
            fields = [f for f in t.__dataclass_fields__ if getattr(t, f) != getattr(old[tid], f)]
            changed.append({"id": tid, "fields": fields})
    return {"added": [t for t in after if t.id not in old], "removed": [t for t in before if t.id not in new],
            "changed": changed}


def load_live(store, path: str | Path, number: int | None = None) -> Loaded:
    """The live targets (or version ``number``): the store's newest ``planning.targets``, else the shipped
    file (version 0). KeyError when ``number`` names no saved version; TargetsError for a bad file."""
    document = store.documents.get(DOCUMENT, number) if number != 0 else None
    if document is None:
        if number not in (None, 0):
            raise KeyError(number)
        text = Path(path).read_text(encoding="utf-8")
        return Loaded(parse(_json(text)), 0, text)
    return Loaded(parse(_json(document.body)), document.number, document.body)


def _json(text):
    try:
        return json.loads(text)
    except (ValueError, TypeError) as exc:
        raise TargetsError(f"不是有效的 JSON · not valid JSON ({str(exc)[:120]})") from None


def save(store, path: str | Path, text: str, *, author: str, message: str = "",
         expected_version: int | None = None, restored_from: int | None = None) -> int:
    """Check ``text`` (the targets' JSON) and save it as the next version; returns its number.
    TargetsError naming the field, or store.Conflict when ``expected_version`` is not the live one; either
    way the live targets are untouched."""
    listed = parse(_json(text))
    before = load_live(store, path)
    if expected_version is not None and expected_version != before.version:
        from ..store import Conflict

        raise Conflict(f"规划目标已被他人改为第 {before.version} 版（你看到的是第 {expected_version} 版），请重新打开后再改 · "
                       f"the targets are now at version {before.version} (you saw {expected_version}): reload them "
                       "and make your change again")
    if listed == before.targets and restored_from is None:
        raise TargetsError(f"与当前第 {before.version} 版相同，未保存 · the same as the live version "
                           f"{before.version}: nothing to save")
    ids_before = [t.id for t in before.targets]
    ids_after = [t.id for t in listed]
    detail = {"added": [i for i in ids_after if i not in ids_before],
              "removed": [i for i in ids_before if i not in ids_after],
              "changed": [t.id for t in listed if t.id in ids_before and t not in before.targets]}
    return store.documents.save(DOCUMENT, text, author=author, message=message, expected_version=expected_version,
                                restored_from=restored_from, detail=detail)


def restore(store, path: str | Path, number: int, *, author: str, expected_version: int | None = None) -> int:
    """Make version ``number`` (0: the shipped file) live again, as a new version that says where it came
    from. KeyError when there is no such version."""
    old = load_live(store, path, number)
    return save(store, path, old.text, author=author, message=f"恢复第 {number} 版 · restored version {number}",
                expected_version=expected_version, restored_from=number)
