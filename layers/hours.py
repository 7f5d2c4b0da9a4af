"""Everyday Chinese opening hours -> OSM ``opening_hours``, by a declared table, never by guessing.

Recognized (after NFKC, so full-width ``：～，；`` count as ``:~,;``, and with spaces ignored):

- a whole value meaning "always open" (:data:`ALWAYS`): 全天24小时, 24小时营业, 7×24小时 … -> ``24/7``;
- segments separated by ``;`` or ``,`` (or nothing, before days), each: days (optional) then times, or days then a closed word:
  - days: a word of :data:`DAY_SETS` (每天, 工作日, 周末, 节假日 …), or days of the week (周一, 星期日, 礼拜六 …)
    alone, as ranges (周一至周五, 周一到周五, 周一-周五) or lists (周六、周日, 周六和周日);
  - times: ``H:MM-H:MM`` (also ``至 到 ~ — –`` between; 次日 before the end time means after midnight),
    several with ``,`` or ``、``; or 24小时 (``00:00-24:00``);
  - closed: 休息, 闭店, 不营业, 停业, 闭馆 (``off``).

The result is checked with opening-hours-py; anything else is not translated (the caller refuses it with
examples). Each translation is shown to the person for confirmation.
"""

from __future__ import annotations

import re
import unicodedata

from opening_hours import OpeningHours, ParserError

#: Whole values that mean "open all the time".
ALWAYS = ("全天24小时", "24小时", "24小时营业", "全天24小时营业", "全天营业", "全天候", "全天候营业", "7×24小时",
          "7x24小时", "7*24小时", "全年无休24小时", "24小时全年无休", "全年24小时", "每天24小时", "每日24小时")
#: Words for sets of days.
DAY_SETS = {"每天": "Mo-Su", "每日": "Mo-Su", "天天": "Mo-Su", "全周": "Mo-Su", "全年": "Mo-Su", "全年无休": "Mo-Su",
            "工作日": "Mo-Fr", "周末": "Sa,Su", "双休日": "Sa,Su", "节假日": "PH", "法定节假日": "PH", "节日": "PH"}
#: The days of the week after 周, 星期 or 礼拜.
WEEKDAYS = {"一": "Mo", "二": "Tu", "三": "We", "四": "Th", "五": "Fr", "六": "Sa", "日": "Su", "天": "Su"}
_PREFIX = "(?:周|星期|礼拜)"
CLOSED = ("休息", "闭店", "不营业", "停业", "闭馆", "休业")
#: Shown when a value is neither OSM nor in the table.
EXAMPLES = ("每天 10:00-22:00", "周一至周五 9:00-21:00；周六、周日 10:00-22:00", "全天24小时",
            "每天 10:00-22:00，周一休息")

_TO = "(?:-|~|至|到|—|–)"
_LIST = "(?:、|,|和|及|与)"
_DAY = f"{_PREFIX}[{''.join(WEEKDAYS)}]"
_SET = "|".join(sorted(map(re.escape, DAY_SETS), key=len, reverse=True))
_DAY_ITEM = f"(?:{_DAY}{_TO}{_DAY}|{_DAY}|{_SET})"
_DAYS = f"{_DAY_ITEM}(?:{_LIST}{_DAY_ITEM})*"
_TIME = r"(?:次日)?\d{1,2}:\d{2}"
_SPAN = f"(?:{_TIME}{_TO}{_TIME}|24小时)"
_SPANS = f"{_SPAN}(?:[,、]{_SPAN})*"
_SEGMENT = re.compile(f"(?P<days>{_DAYS})?(?::)?(?:(?P<spans>{_SPANS})|(?P<closed>{'|'.join(CLOSED)}))")


def _days(text: str) -> str:
    parts = []
    for item in re.findall(_DAY_ITEM, text):
        if item in DAY_SETS:
            parts.append(DAY_SETS[item])
            continue
        ends = [WEEKDAYS[m] for m in re.findall(f"{_PREFIX}(.)", item)]
        parts.append("-".join(ends))
    return ",".join(parts)


def _time(text: str) -> str:
    hours, minutes = text.removeprefix("次日").split(":")
    return f"{int(hours):02d}:{minutes}"


def _spans(text: str) -> str:
    out = []
    for span in re.findall(_SPAN, text):
        if span == "24小时":
            out.append("00:00-24:00")
        else:
            start, end = re.findall(_TIME, span)
            out.append(f"{_time(start)}-{_time(end)}")
    return ",".join(out)


def translate(value: str) -> str | None:
    """The OSM form of an everyday Chinese ``value`` by the table above, checked by opening-hours-py; or None."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    text = text.rstrip("。.;,")
    if not text:
        return None
    if text in ALWAYS:
        return "24/7"
    rules, pos = [], 0
    while pos < len(text):
        found = _SEGMENT.match(text, pos)
        if not found or found.end() == pos:
            return None
        days = _days(found["days"]) if found["days"] else ""
        what = _spans(found["spans"]) if found["spans"] else "off"
        if what == "off" and not days:
            return None
        rules.append(f"{days} {what}".strip())
        pos = found.end()
        if pos < len(text) and text[pos] in ";,":
            pos += 1
        elif pos < len(text) and not re.match(_DAYS, text[pos:]):
            return None  # segments run together only when the next one starts with its days
    result = "; ".join(rules)
    try:
        OpeningHours(result)
    except ParserError:
        return None
    return result
