"""The planning desk's pages (/staff/planning): check a site on a map, check all sites and zones, the week
view, district statistics, plan targets, reports and the ruleset. Staff only: every page needs a staff
log-in (an anonymous visitor is sent to log in; nothing here is public), and changing the ruleset needs an
admin. The work is layers.planning's (one service, :class:`layers.planning.desk.Desk`, reached through
:func:`webmap.db.get_desk`); the views here gather a request and render what it returns.

Each job has its module: ``check`` (check a site), ``desk`` (check all, exports, reports), ``rules`` (the
ruleset), ``overview`` (week view, statistics, targets); ``cli`` holds ``flask --app webmap planning ...``.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request, url_for
from flask_login import current_user

bp = Blueprint("planning", __name__, url_prefix="/staff/planning")

#: The desk's pages in its navigation bar: (endpoint, Chinese, English). A page not registered (yet) is
#: left out of the bar.
NAV = (
    ("planning.index", "全部检查", "Check all"),
    ("planning.check", "单点检查", "Check a site"),
    ("planning.week", "一周时段", "Week view"),
    ("planning.stats", "区市统计", "District statistics"),
    ("planning.targets", "规划目标", "Plan targets"),
    ("planning.rules", "规则", "Ruleset"),
)


@bp.before_request
def _staff_only():
    """Every planning page needs a staff log-in (an anonymous visitor goes to the log-in page, then back)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None  # (a temporary password reaches only the change-password page: webmap.accounts.GUARDED)


def admin_required() -> None:
    """403 unless the staff member is an admin (who alone may change the ruleset and the targets)."""
    if current_user.role != "admin":
        abort(403, "只有管理员可以修改规则和目标 · Only admins change the ruleset and the targets")


@bp.app_context_processor
def _planning_nav():
    def planning_nav():
        views = current_app.view_functions
        return [(url_for(endpoint), zh, en, request.endpoint == endpoint)
                for endpoint, zh, en in NAV if endpoint in views]
    return {"planning_nav": planning_nav}


from . import check, desk, overview, rules  # noqa: E402,F401  (their views join bp)
