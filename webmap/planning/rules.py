"""The planning desk's ruleset page (/staff/planning/rules): every staff member reads the live ruleset (each
rule's id, titles, severity, kind, parameters in words and rationale; the version, digest, who saved it and
when) and its history, with any old version; admins edit it (a form per rule, or the ruleset's JSON in the
advanced mode), see what a save changes before they confirm it, and restore any version (0: the shipped
default) the same way. The work is layers.planning.desk's (``save_ruleset``, ``restore_ruleset``: checked,
versioned, audited, refused on a stale version); these views gather the form and render what it returns.
"""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from layers.planning.desk import RULESET, Conflict, RulesetError, load_ruleset, restore_ruleset, save_ruleset
from layers.planning.rules import SEVERITIES, Ruleset

from ..db import get_store
from ..staff import version_number
from . import admin_required, bp
from . import rules_form as words

_STALE = 409


def _document(number: int | None = None):
    """The stored version ``number`` (the live one by default): who saved it, when, why; None for the shipped
    default."""
    return get_store().documents.get(RULESET, number) if number != 0 else None


def _history() -> list[dict]:
    rows = get_store().documents.history(RULESET)
    shipped = {"number": 0, "created_at": None, "author": "", "restored_from": None,
               "message": "出厂默认规则 · the shipped default ruleset"}
    return [shipped, *rows]


def _page(ruleset: Ruleset, number: int | None):
    live = load_ruleset(get_store())
    return render_template("planning/rules.html", ruleset=ruleset, document=_document(ruleset.version),
                           live=live, history=_history(), words=words, severities=SEVERITIES,
                           old=number is not None and number != live.version,
                           is_admin=current_user.role == "admin")


@bp.get("/rules")
def rules():
    """The live ruleset and its history."""
    return _page(load_ruleset(get_store()), None)


@bp.get("/rules/versions/<number:number>")
def rules_version(number: int):
    """An earlier version of the ruleset (0: the shipped default), as it was."""
    try:
        ruleset = load_ruleset(get_store(), number)
    except KeyError:
        abort(404, f"规则没有第 {number} 版 · The ruleset has no version {number}")
    return _page(ruleset, number)


# --- editing (admins) ------------------------------------------------------------------------------------

def _editor(data: dict | None, *, mode: str, expected: int, text: str | None = None, problems=(), message: str = "",
            notice: str | None = None, conflict: str | None = None, status: int = 200):
    """The edit page: the form (``data``: a ruleset's JSON form, as typed) or the JSON text, with the problems
    named field by field."""
    problems = [(where, words.problem_label(where), why) for where, why in problems]
    errors: dict[str, list[str]] = {}
    for where, _, why in problems:
        errors.setdefault(where, []).append(why)
    if text is None and data is not None:
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
    return render_template("planning/rules_edit.html", mode=mode, expected=expected,
                           rows=words.form_rules(data or {}), text=text or "", problems=problems, errors=errors,
                           message=message, notice=notice, conflict=conflict, words=words, severities=SEVERITIES,
                           categories=words.category_choices, properties=words.property_choices(),
                           labels=words.PARAM_LABELS), status


def _expected() -> int:
    expected = version_number(request.form.get("expected", ""))
    if expected is None:
        abort(400, "请求缺少所基于的版本号 · The form does not say which version it was based on (expected)")
    return expected


@bp.get("/rules/edit")
def rules_edit():
    admin_required()
    live = load_ruleset(get_store())
    mode = "json" if request.args.get("mode") == "json" else "form"
    return _editor(live.to_dict(), mode=mode, expected=live.version, text=live.to_json())


@bp.post("/rules/edit")
def rules_preview():
    """Read the admin's ruleset (form or JSON) and show what saving it would change, to confirm; or the form
    again with every problem named, nothing saved."""
    admin_required()
    expected, message = _expected(), request.form.get("message", "")[:500]
    mode = "json" if request.form.get("mode") == "json" else "form"
    text = request.form.get("ruleset", "")
    if request.form.get("action") == "back":  # back from the confirmation, with the ruleset shown there
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        return _editor(data, mode=mode, expected=expected, text=text, message=message)
    data = None
    try:
        if mode == "json":
            proposal = Ruleset.from_json(text)
        else:
            data = words.from_form(request.form)
            proposal = Ruleset.from_dict(data)
    except RulesetError as exc:
        return _editor(data, mode=mode, expected=expected, text=text if mode == "json" else None,
                       problems=exc.problems, message=message, status=400)
    live = load_ruleset(get_store())
    shown = proposal.to_dict() if mode == "form" else None
    if live.version != expected:
        return _editor(data if mode == "form" else shown, mode=mode, expected=expected,
                       text=text if mode == "json" else None, message=message, status=_STALE,
                       conflict=_conflict_text(live.version, expected))
    diff = words.differences(live, proposal)
    if diff["empty"]:
        return _editor(data, mode=mode, expected=expected, text=text if mode == "json" else None, message=message,
                       notice=f"没有改动：与现行第 {live.version} 版相同，未保存 · No changes: the same as the live "
                              f"version {live.version}; nothing to save")
    body = Ruleset(proposal.rules, 0).to_json()
    return render_template("planning/rules_confirm.html", action="save", diff=diff, live=live, proposal=proposal,
                           body=body, expected=expected, message=message, mode=mode, words=words)


def _conflict_text(live: int, expected: int) -> str:
    return (f"规则已被他人改为第 {live} 版（你看到的是第 {expected} 版），未保存；请重新打开后再改 · The ruleset is now at "
            f"version {live} (you saw version {expected}); nothing was saved: reload it and make your change again")


@bp.post("/rules/save")
def rules_save():
    """Save the confirmed ruleset as the next version (a stale version: 409, nothing saved)."""
    admin_required()
    expected, message = _expected(), request.form.get("message", "")[:500]
    mode = "json" if request.form.get("mode") == "json" else "form"
    text = request.form.get("ruleset", "")
    try:
        proposal = Ruleset.from_json(text)
    except RulesetError as exc:
        return _editor(None, mode="json", expected=expected, text=text, problems=exc.problems, message=message,
                       status=400)
    if request.form.get("confirm") != proposal.digest:
        abort(400, "请先查看改动并确认 · Look at the changes and confirm them first (the confirmation is missing)")
    try:
        saved = save_ruleset(get_store(), text, author=current_user.name, message=message, expected_version=expected)
    except Conflict:
        live = load_ruleset(get_store())
        return _editor(proposal.to_dict(), mode=mode, expected=expected, text=text if mode == "json" else None,
                       message=message, status=_STALE, conflict=_conflict_text(live.version, expected))
    except RulesetError as exc:
        return _editor(proposal.to_dict(), mode=mode, expected=expected, text=text if mode == "json" else None,
                       problems=exc.problems, message=message, status=400)
    flash(f"已保存规则第 {saved.version} 版 · Saved ruleset version {saved.version}")
    return redirect(url_for("planning.rules"))


@bp.get("/rules/restore/<number:number>")
def rules_restore_confirm(number: int):
    """What restoring version ``number`` would change, to confirm."""
    admin_required()
    store = get_store()
    try:
        old = load_ruleset(store, number)
    except KeyError:
        abort(404, f"规则没有第 {number} 版 · The ruleset has no version {number}")
    live = load_ruleset(store)
    return render_template("planning/rules_confirm.html", action="restore", number=number,
                           diff=words.differences(live, old), live=live, proposal=old, expected=live.version,
                           words=words)


@bp.post("/rules/restore")
def rules_restore():
    """Make an earlier version live again, as a new version (a stale version: 409, nothing saved)."""
    admin_required()
    expected, number = _expected(), version_number(request.form.get("version", ""))
    store = get_store()
    if number is None:
        abort(400, "请求缺少要恢复的版本号 · The form does not say which version to restore")
    try:
        old, live = load_ruleset(store, number), load_ruleset(store)
    except KeyError:
        abort(404, f"规则没有第 {number} 版 · The ruleset has no version {number}")
    if old.digest == live.digest:
        abort(400, f"第 {number} 版与现行版本相同，无需恢复 · Version {number} is the same as the live one: nothing to restore")
    try:
        new = restore_ruleset(store, number, author=current_user.name, expected_version=expected)
    except Conflict:
        return render_template("error.html", status=_STALE, title="Conflict",
                               detail=_conflict_text(live.version, expected)), _STALE
    flash(f"已恢复第 {number} 版，现为第 {new.version} 版 · Restored version {number} as version {new.version}")
    return redirect(url_for("planning.rules"))

