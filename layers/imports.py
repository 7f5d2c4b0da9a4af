"""One import of a file into a layer, the same from the command line and the staff pages.

The rules of an import live here once, and both callers (``flask --app webmap layers import``, webmap/cli.py,
and the staff upload → preview → publish pages, webmap/staff.py) only gather the person's choices and render
what this module returns:

- the options, each checked by one rule (:meth:`Options.check`, raising :class:`OptionError` with a bilingual
  message): the CRS by :func:`layers.readers.check_crs`, the text encoding by :data:`ENCODINGS`, the mode,
  the rows whose lat/lon to swap, repair and strict;
- the encoding a file is read with (:func:`reading_encoding`): what the person chose, else what the file
  declares, else UTF-8 (a Shapefile without a .cpg is read as UTF-8, not as GDAL's Latin-1); GeoPackage and
  KML text is UTF-8 by definition, so a chosen encoding does not apply to them (a notice says so);
- reading through :mod:`layers.readers`, the district check, and the plan of what publishing would do
  (:meth:`layers.store.Store.plan`), with the fixes the report suggests (:class:`Fixes`): :meth:`Importer.check`;
- ending the import (:meth:`Importer.finish`): publish the accepted features, or, when nothing may be published
  (no feature accepted; strict and some refused), publish nothing. Either way the refused features are kept in
  the store's quarantine with their reasons, and the messages that say what happened are the same words on
  both paths (:attr:`Outcome.messages`). A preview or a dry run (:meth:`Importer.check` alone) keeps nothing.

Framework-free: no Flask here; the store and a way to get live layers are given to :class:`Importer`.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import shapely

from . import coords
from .area import check_districts
from .changes import file_name
from .load import Layer
from .problems import UNITS
from .readers import MAX_FEATURES, check_crs, check_zip, read_file
from .registry import REGISTRY, get
from .schema import LayerKind
from .store import Plan, Store, Version

#: How a publish treats the live features: append (the default) removes nothing; replace removes what the
#: file does not hold.
MODES = ("append", "replace")
#: The coordinate systems offered as choices (any EPSG:NNNN is accepted too, by readers.check_crs).
CRS_CHOICES = coords.SYSTEMS
#: The text encodings an import may be read with, by the names people give them. GBK and GB2312 are read as
#: GB18030, which contains both. Others (latin-1, cp1252…) would read Chinese text wrongly without a word.
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8", "gb18030": "gb18030", "gbk": "gb18030",
             "gb2312": "gb18030", "cp936": "gb18030", "936": "gb18030"}
#: Formats whose text is UTF-8 by definition (GeoPackage), by the XML declaration (KML) or Unicode (Excel).
_OWN_ENCODING = {".gpkg": "GeoPackage", ".kml": "KML", ".xlsx": "Excel (.xlsx)"}
#: Formats whose coordinates are plain lon/lat numbers, for which the CRS choice is offered as a fix.
_PLAIN_LONLAT = (".csv", ".geojson", ".json", ".kml", ".xlsx")
#: Most rows one import may ask to swap (the web form's field allows as many).
MAX_SWAP = 10_000


class OptionError(ValueError):
    """An option the person gave breaks its rule; ``option`` names it (crs, encoding, mode, swap)."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


def check_encoding(value: str | None) -> str | None:
    """The one rule for a text encoding a person names: utf-8 or gb18030 (with their usual other names), or
    None/"" for "as the file declares"; raise :class:`OptionError` otherwise."""
    if value is None or not str(value).strip() or str(value).strip().lower() == "auto":
        return None
    key = str(value).strip().lower().replace("_", "-")
    if key not in ENCODINGS:
        shown = str(value)[:40]
        raise OptionError("encoding", f"编码 {shown!r} 无法使用 Unsupported text encoding {shown!r}: use utf-8 or "
                                      "gb18030 (GBK and GB2312 are read as GB18030, which contains them), or leave it "
                                      "out to read the file as it declares (UTF-8 when it declares nothing)")
    return ENCODINGS[key]


def check_mode(value: str) -> str:
    if value not in MODES:
        raise OptionError("mode", f"方式 {str(value)[:20]!r} 无效 Unknown mode {str(value)[:20]!r}: choose append "
                                  "(adds and updates, removes nothing) or replace (the layer becomes the file)")
    return value


def source_choices() -> dict[str, tuple[str, str]]:
    """The values of ``source`` (数据来源) every layer declares (layers.commonfields), with zh/en labels."""
    from .commonfields import _SOURCE

    return {value: _SOURCE.choice_labels.get(value, (value, value)) for value in _SOURCE.choices}


def check_source(value) -> str | None:
    """The source given to features without one: None (or empty), or one of :func:`source_choices`."""
    if value is None or value == "":
        return None
    choices = source_choices()
    if value not in choices:
        raise OptionError("source", f"数据来源应为{'、'.join(z for z, _ in choices.values())}之一 · the source must be one "
                                    f"of {', '.join(choices)}, not {str(value)[:40]!r}")
    return value


def check_swap(values) -> tuple[int, ...]:
    """Zero-based feature positions (ints, or digits 0-9 as text), each below readers.MAX_FEATURES, at most
    :data:`MAX_SWAP` of them; raise :class:`OptionError` otherwise."""
    why = OptionError("swap", "行号无效 The rows to swap must be feature numbers (digits 0-9), at most "
                              f"{MAX_SWAP:,} of them")
    chosen = set()
    try:
        for value in values:
            if isinstance(value, bool) or not (isinstance(value, int) or (
                    isinstance(value, str) and re.fullmatch(r"[0-9]{1,7}", value))):
                raise why
            if not 0 <= int(value) < MAX_FEATURES:
                raise why
            chosen.add(int(value))
    except TypeError:
        raise why from None
    if len(chosen) > MAX_SWAP:
        raise why
    return tuple(sorted(chosen))


@dataclass(frozen=True)
class Options:
    """How to read and publish a file. Build it with :meth:`check` (each value by its one rule)."""

    crs: str = "wgs84"
    #: None: as the file declares, else UTF-8 (:func:`reading_encoding`); or "utf-8" / "gb18030".
    encoding: str | None = None
    mode: str = "append"
    #: Repair invalid geometries (make_valid) instead of refusing them.
    repair: bool = False
    #: Publish nothing if any feature is refused.
    strict: bool = False
    #: Zero-based positions of the features whose lat/lon were given as lon/lat.
    swap: tuple[int, ...] = ()
    #: The ``source`` (数据来源) given to features that have none (a 12345 hotline export has no such column);
    #: None: a feature without one is refused, as the kind requires.
    source: str | None = None

    @classmethod
    def check(cls, *, crs: str = "wgs84", encoding: str | None = None, mode: str = "append", repair: bool = False,
              strict: bool = False, swap=(), source: str | None = None) -> Options:
        """The options, each checked by its rule; raise :class:`OptionError` (bilingual, naming the option)."""
        try:
            crs = check_crs(crs if isinstance(crs, str) else "")
        except ValueError as exc:
            raise OptionError("crs", str(exc)) from None
        return cls(crs=crs, encoding=check_encoding(encoding), mode=check_mode(mode), repair=bool(repair),
                   strict=bool(strict), swap=check_swap(swap), source=check_source(source))

    def to_dict(self) -> dict:
        """As JSON (an upload waiting for its publish keeps its options so)."""
        return {"crs": self.crs, "encoding": self.encoding, "mode": self.mode, "repair": self.repair,
                "strict": self.strict, "swap": list(self.swap), "source": self.source}

    @classmethod
    def from_dict(cls, data: dict) -> Options:
        """Options kept by :meth:`to_dict` (checked again: the file they were kept in is only data)."""
        known = {k: data[k] for k in ("crs", "encoding", "mode", "repair", "strict", "swap", "source") if k in data}
        return cls.check(**known)

    def changed(self, **values) -> Options:
        """These options with some changed, checked again (a fix offered on the preview)."""
        return Options.check(**{**self.to_dict(), **values})


@dataclass(frozen=True)
class ImportFile:
    """The file to import: where it is, and the name its sender gave it (recorded as the import's source; the
    report names the file by its last part, never the folders)."""

    path: Path
    name: str

    @property
    def suffix(self) -> str:
        return Path(self.path).suffix.lower()

    @property
    def label(self) -> str:
        return file_name(self.name) or Path(self.path).name

    @property
    def first_number(self) -> int:
        """The number the report gives the first feature: 2 for a CSV (its spreadsheet row, the header being
        row 1), else 1."""
        return UNITS["row" if self.suffix in (".csv", ".xlsx") else "feature"][2]


def swap_indexes(numbers, file: ImportFile) -> tuple[int, ...]:
    """Feature numbers as the report counts them (a CSV's spreadsheet rows, the header being row 1; other
    files' features from 1) as the zero-based positions :attr:`Options.swap` holds."""
    first = file.first_number
    numbers = list(numbers)
    if any(not isinstance(n, int) or n < first for n in numbers):
        raise OptionError("swap", f"行号无效 The rows to swap are numbered as the report numbers them, from {first}")
    return check_swap([n - first for n in numbers])


def _shapefile_declares_encoding(path: Path) -> bool:
    """Whether a zipped Shapefile says its encoding (a .cpg, or a code page in the .dbf header); True when the
    archive is refused anyway (the reader says why)."""
    shp, why = check_zip(path)
    if why:
        return True
    stem = shp[:-4].lower()
    try:
        with zipfile.ZipFile(path) as archive:
            members = {m.filename.lower(): m for m in archive.infolist()}
            if stem + ".cpg" in members:
                return True
            dbf = members.get(stem + ".dbf")
            if dbf is None:
                return True
            with archive.open(dbf) as fh:
                head = fh.read(32)
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return True
    return len(head) > 29 and head[29] != 0  # the language driver id: 0 is "not said"


def reading_encoding(file: ImportFile, chosen: str | None) -> tuple[str | None, list[str]]:
    """The encoding to read ``file`` with, by the one rule, and notices saying what was decided when the person
    might not expect it: ``(encoding for layers.readers.read_file, notices)``."""
    suffix = file.suffix
    if suffix in _OWN_ENCODING:
        if chosen and chosen != "utf-8":
            title = _OWN_ENCODING[suffix]
            return None, [f"{title} 文件的文字总是 UTF-8，未使用所选编码 {chosen} · {title} text is UTF-8 by definition: "
                          f"the chosen encoding {chosen} was not used"]
        return None, []
    if chosen:
        return chosen, []
    if suffix == ".zip" and Path(file.path).is_file() and not _shapefile_declares_encoding(Path(file.path)):
        return "utf-8", ["Shapefile 未声明编码（没有 .cpg 文件），按 UTF-8 读取；若文字乱码，请选择 gb18030 · The Shapefile "
                         "does not declare its encoding (no .cpg): read as UTF-8; if the text looks wrong, choose gb18030"]
    return None, []  # GeoJSON and CSV: UTF-8 (read_file's default)


@dataclass(frozen=True)
class Fixes:
    """What the report suggests re-reading the same file with, one option changed: rows to swap (zero-based
    ``swap``, and as the report numbers them), GB18030 text, a CRS the coordinates look like (``shift``: with
    evidence from features named like live ones), the other CRS choices for plain lon/lat files, and a repair
    of invalid geometries (``repair``: some refused feature's geometry is invalid and repair was not asked)."""

    swap: list = field(default_factory=list)
    swap_numbers: list = field(default_factory=list)
    swap_places: list = field(default_factory=list)
    swap_names: list = field(default_factory=list)
    gb18030: bool = False
    shift: str | None = None
    crs: list = field(default_factory=list)
    repair: bool = False
    #: features refused only because they name no source (数据来源): how many (the fix gives them one)
    source: int = 0

    def __bool__(self) -> bool:
        return bool(self.swap or self.gb18030 or self.shift or self.crs or self.repair or self.source)


@dataclass
class Checked:
    """A file read and checked, and what publishing it would do: everything a preview or a dry run shows.
    Nothing has been written."""

    kind: LayerKind
    file: ImportFile
    options: Options
    layer: Layer
    #: What publishing would do to the live version (None when no feature was accepted).
    plan: Plan | None
    #: The live version the plan was made against (a publish expects it).
    expected: int
    fixes: Fixes
    #: How the file was read, where the person might not expect it (e.g. a Shapefile without a .cpg).
    notices: list = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.layer)

    @property
    def refused(self) -> int:
        return len(self.layer.refused)

    def count(self, severity: str) -> int:
        return sum(1 for p in self.layer.report.problems if p.severity == severity)

    @property
    def blocked(self) -> str | None:
        """Why nothing may be published (bilingual), or None."""
        kind = self.kind
        if not self.accepted:
            return f"未发布：没有可发布的要素，{kind.zh}未改变 · Not published: no feature was accepted; {kind.en} is unchanged"
        if self.options.strict and self.refused:
            return (f"未发布：严格模式下有 {self.refused} 个要素被拒绝，{kind.zh}未改变 · Not published: {self.refused} "
                    f"features were refused and strict mode (--strict) publishes nothing then; {kind.en} is unchanged")
        return None

    @property
    def summary(self) -> str:
        """One line: the file, and how many features were accepted (with repairs and warnings) and refused."""
        return (f"{self.file.label}: {self.accepted} accepted ({self.count('repaired')} repairs, "
                f"{self.count('warning')} warnings), {self.refused} refused")


@dataclass
class Outcome:
    """How an import ended: the version published (None when nothing was: see :attr:`Checked.blocked`), the
    import on record (its refused features are in quarantine under this id), and the messages for the person."""

    checked: Checked
    version: Version | None
    import_id: int | None

    @property
    def published(self) -> bool:
        return self.version is not None and not self.version.unchanged

    @property
    def quarantined(self) -> int:
        """How many refused features this import kept in quarantine."""
        return self.checked.refused if self.import_id is not None else 0

    @property
    def result(self) -> str:
        """What happened, in one bilingual line."""
        kind, version = self.checked.kind, self.version
        if version is None:
            return self.checked.blocked or ""
        if version.unchanged:
            return (f"没有改动，{kind.zh}第 {version.number} 版仍然有效 · Nothing changed: {kind.en} version "
                    f"{version.number} stays live")
        return (f"已发布{kind.zh}第 {version.number} 版 · Published {kind.en} version {version.number}: "
                f"+{version.added} added, ~{version.changed} changed, -{version.removed} removed, "
                f"{version.total} in all")

    @property
    def quarantine_note(self) -> str | None:
        if not self.quarantined:
            return None
        return (f"{self.quarantined} 个被拒绝的要素已隔离保存（导入 {self.import_id}）· {self.quarantined} refused "
                f"features are kept in quarantine (import {self.import_id})")

    @property
    def messages(self) -> list[str]:
        return [m for m in (self.result, self.quarantine_note) if m]


class Importer:
    """Imports into one store. ``live(layer_id)``: the live layer (a layers.load.Layer) or None, for the
    district check and the CRS diagnosis; by default read from the store."""

    def __init__(self, store: Store, live: Callable[[str], Layer | None] | None = None):
        self.store = store
        self.live = live or self._from_store

    def _from_store(self, layer_id: str) -> Layer | None:
        return self.store.load(get(layer_id)) if layer_id in REGISTRY else None

    def read(self, kind: LayerKind, file: ImportFile, options: Options) -> tuple[Layer, list[str]]:
        """Read and check ``file`` as a layer of ``kind``: the layer (its report holds every problem) and the
        notices of how it was read."""
        encoding, notices = reading_encoding(file, options.encoding)
        reading = kind
        if options.source and "source" in kind.field_map:  # features without a source get the option's
            reading = replace(kind, fields=tuple(replace(f, required=False) if f.name == "source" else f
                                                 for f in kind.fields))
        layer = read_file(file.path, reading, encoding=encoding, crs=options.crs, repair=options.repair,
                          source=file.label, swap=options.swap)
        if reading is not kind:
            layer.kind = kind
            given = [props for props in layer.properties if not props.get("source")]
            for props in given:
                props["source"] = options.source
            if given:
                zh, en = source_choices()[options.source]
                notices.append(f"{len(given)} 个要素未给出数据来源，按导入选项填为「{zh}」· {len(given)} features had no "
                               f"source and were given {options.source!r} ({en}), as the import asked")
        check_districts(layer, self.live("districts"))
        return layer, notices

    def check(self, kind: LayerKind, file: ImportFile, options: Options) -> Checked:
        """Read ``file``, check it and plan its publish, writing nothing (a preview, a dry run)."""
        layer, notices = self.read(kind, file, options)
        plan = self.store.plan(layer, options.mode) if len(layer) else None
        expected = plan.version if plan else self.store.live_versions().get(kind.id, 0)
        return Checked(kind, file, options, layer, plan, expected, self._fixes(kind, file, options, layer), notices)

    def finish(self, checked: Checked, *, author: str, expected_version: int | None = None,
               confirmed: tuple[int, int] | None = None) -> Outcome:
        """End the import: publish its accepted features as one new version (``expected_version`` and
        ``confirmed`` as for :meth:`layers.store.Store.publish`, which raises Conflict or Unconfirmed and then
        keeps nothing), or, when :attr:`Checked.blocked`, publish nothing. Refused features are kept in
        quarantine either way."""
        layer, source = checked.layer, checked.file.name
        if checked.blocked:
            import_id = self.store.record_refusal(layer, author=author, source=source) if layer.refused else None
            return Outcome(checked, None, import_id)
        version = self.store.publish(layer, author=author, mode=checked.options.mode, source=source,
                                     expected_version=expected_version, confirmed=confirmed)
        return Outcome(checked, version, version.import_id)

    def _fixes(self, kind: LayerKind, file: ImportFile, options: Options, layer: Layer) -> Fixes:
        swaps = [p for p in layer.report.fixes("swap") if p.index not in set(options.swap)]
        live = self.live(kind.id)
        shift = (coords.diagnose_shift(layer, live)
                 if options.crs == "wgs84" and live is not None and len(live) and len(layer) else None)
        # a file that carries its own CRS (GeoPackage, Shapefile) is read in it: the choice is for plain lon/lat
        crs = [c for c in CRS_CHOICES if c != options.crs] if (len(layer) or layer.refused) and (
            file.suffix in _PLAIN_LONLAT) else []
        return Fixes(swap=sorted({p.index for p in swaps}), swap_numbers=sorted({p.number for p in swaps}),
                     swap_places=[p.place for p in swaps], swap_names=[p.name or "" for p in swaps],
                     gb18030=bool(layer.report.fixes("gb18030")) and options.encoding != "gb18030",
                     shift=shift, crs=crs, repair=not options.repair and _invalid_refused(layer),
                     source=0 if options.source else _refused_for_no_source(layer))


def _refused_for_no_source(layer: Layer) -> int:
    """How many refused features lack a source (数据来源) and nothing else."""
    return sum(1 for r in layer.refused if r.get("reasons") and all(_NO_SOURCE in why for why in r["reasons"]))


#: The words of the schema's refusal of a feature without a source (layers.properties).
_NO_SOURCE = "property 'source'"


def _invalid_refused(layer: Layer) -> bool:
    """Whether a refused feature has a geometry that is readable but invalid (what a repair would fix)."""
    texts = [json.dumps(r["raw"]["geometry"]) for r in layer.refused
             if isinstance(r.get("raw"), dict) and isinstance(r["raw"].get("geometry"), dict)]
    if not texts:
        return False
    geoms = shapely.from_geojson(np.array(texts, dtype=object), on_invalid="ignore")
    geoms = geoms[~shapely.is_missing(geoms)]
    return bool(len(geoms)) and not bool(shapely.is_valid(geoms).all())


def parse_numbers(text: str) -> list[int]:
    """Numbers separated by commas ("3,5"), as a person types them on the command line; raise OptionError."""
    if not re.fullmatch(r"\s*[0-9]{1,7}(\s*,\s*[0-9]{1,7}){0,9999}\s*", text or ""):
        raise OptionError("swap", "行号无效 The rows to swap must be numbers separated by commas, e.g. 3,5")
    return [int(n) for n in text.split(",")]
