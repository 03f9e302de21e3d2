"""The read-only web dashboard (aiohttp.web) for the health commission and hospitals: 巡诊工作看板.

Server-rendered HTML, every value escaped; no JavaScript. Login with a staff code and a password set by
``python -m bot set-password`` (argon2id hashes); sessions are random tokens stored only as SHA-256, expire
after ``session_ttl`` and after ``idle`` without use, and end on logout or a password change. A POST whose
``Origin`` is another site is refused; the login form carries a double-submit token (cookie and hidden field)
and the logout form a per-session token. Failed
logins slow down the client that made them (growing delays per client and account, ``bot.web.login_throttle``), never
the account for everyone. A commission administrator sees the city (or their county); a hospital
reviewer sees the places their hospital supports (decided in ``handlers.services.ledgers``, which also gives every
page and download its figures, as it does for ``python -m bot report``). Every page that shows personal data
(physicians' names, complaints) appends an audit event. Database work, password checks and workbook building run
in worker threads (``asyncio.to_thread``), so one slow request does not stall the others.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import hmac
import ipaddress
import re
import secrets
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.web.login_throttle import LoginThrottle, wait_text
from bot.web.notices import PREFIX, Keyed, notice_page
from domain.circuits import month_day
from domain.errors import DomainError, PermissionDenied
from domain.ledgers import (
    FREQUENCY_LABELS,
    LEAD_SOURCE_LABELS,
    LEAD_STATUS_LABELS,
    RULE_LABELS,
    Period,
)
from domain.ledgers import parse_period as _parse_period
from domain.orders import AuditEvent
from handlers.services.ledgers import Reader, may_use_dashboard, reader_of, report_figures
from handlers.texts_ledgers import SHEET_NOTES, TARGET_DEFINITIONS
from storage.ports import UnitOfWork, UnitOfWorkFactory

CHINA = ZoneInfo("Asia/Shanghai")
COOKIE = "xz_session"
LOGIN_CSRF = "xz_login_csrf"  # the login form's double-submit token
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
MIN_PASSWORD = 10
LOGIN_FAILED = "人员编码或密码错误。"
CALLBACK_PREFIX = "/callback/"
LOGIN_THROTTLED = "登录失败次数过多，本设备暂时不能再试这个账号：请在 {wait} 后再试。其他设备上的登录不受影响。"
_hasher = PasswordHasher()
# A real hash to verify against when the staff code is unknown, so timing does not reveal which codes exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (brackets allowed), false for every other address or name."""
    h = host.strip().strip("[]").lower()
    if h in ("", "localhost") or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def secure_cookie_for(host: str, flag: bool | None = None, setting: bool | None = None) -> bool:
    """Whether the session cookie gets ``Secure``: the command-line flag, else the setting
    (``XUNZHEN_DASHBOARD_SECURE_COOKIE``), else on unless the dashboard listens on a loopback address only
    (local use without TLS). A listener reachable from the network must sit behind HTTPS."""
    if flag is not None:
        return flag
    if setting is not None:
        return setting
    return not is_loopback(host)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class DashboardServices:
    """What the dashboard needs from the composition root."""

    uow: UnitOfWorkFactory
    clock: Callable[[], datetime]
    session_ttl: timedelta = timedelta(hours=8)
    idle: timedelta = timedelta(minutes=30)
    secure_cookie: bool = False  # True behind HTTPS; ``secure_cookie_for`` decides for the CLI
    report_dir: Path | None = None
    cipher: Keyed | None = None  # signs public announcement pages (``/a/…``); None: no such pages
    throttle: LoginThrottle = field(default_factory=LoginThrottle)  # failed logins, per client and account
    # Pushes from outside services (the SMS provider's replies and receipts), under CALLBACK_PREFIX: no login.
    callbacks: list[web.RouteDef] = field(default_factory=list)


@dataclass(slots=True)
class Viewer:
    """The logged-in user of one request: who reads (``handlers.services.ledgers.reader_of``) and their session."""

    reader: Reader
    token: str

    @property
    def csrf(self) -> str:
        """A per-session token for the logout form."""
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()[:32]


SERVICES = web.AppKey("services", DashboardServices)
VIEWER = web.RequestKey("viewer", Viewer)


def make_app(services: DashboardServices) -> web.Application:
    """The dashboard application."""
    app = web.Application(middlewares=[_headers, _same_origin, _auth], client_max_size=64 * 1024)
    app[SERVICES] = services
    app.add_routes(
        [
            web.get("/login", login_form),
            web.post("/login", login),
            web.post("/logout", logout),
            web.get("/", overview),
            web.get("/calendar", month_calendar),
            web.get("/overdue", overdue),
            web.get("/leads", leads),
            web.get("/catalogue", catalogue_page),
            web.get("/report", report_download),
        ]
    )
    if services.cipher is not None:
        app.add_routes([web.get(PREFIX + "{ref}", notice_page(services.uow, services.cipher, services.clock))])
    if services.callbacks:
        if any(not str(getattr(r, "path", "")).startswith(CALLBACK_PREFIX) for r in services.callbacks):
            raise ValueError(f"callback routes must be under {CALLBACK_PREFIX}")
        app.add_routes(services.callbacks)
    return app


# --- middleware -------------------------------------------------------------------------------------------


@web.middleware
async def _headers(request: web.Request, handler):
    resp = await handler(request)
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
    )
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Not "no-referrer": under it browsers send "Origin: null" even on our own forms, which _same_origin refuses.
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL or an ``Origin`` value; None when it has none (e.g. ``null``)."""
    try:
        u = urlsplit(url.strip())
        port = u.port
    except ValueError:
        return None
    scheme = u.scheme.lower()
    if not scheme or not u.hostname:
        return None
    return scheme, u.hostname.lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def _site_origins(request: web.Request) -> set[tuple[str, str, int]]:
    """This site's origin as the request reached it, and as the browser saw it before a reverse proxy.

    ``X-Forwarded-Proto``/``-Host`` are safe to honour here: a page on another site cannot add custom headers to
    a cross-site request without a CORS preflight, which this server never grants."""
    scheme, host = request.scheme, request.host
    out = {_origin_of(f"{scheme}://{host}")}
    fproto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip()
    fhost = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    if fproto or fhost:
        out.add(_origin_of(f"{fproto or scheme}://{fhost or host}"))
    return {o for o in out if o is not None}


@web.middleware
async def _same_origin(request: web.Request, handler):
    """Refuse a state-changing request that a browser says comes from another site (or an opaque origin)."""
    if request.method not in _SAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is not None and _origin_of(origin) not in _site_origins(request):
            raise web.HTTPForbidden(text="cross-site request refused")
    return await handler(request)


@web.middleware
async def _auth(request: web.Request, handler):
    # Public announcement pages and providers' pushes (each checks its own secret) need no login.
    if request.path == "/login" or request.path.startswith((PREFIX, CALLBACK_PREFIX)):
        return await handler(request)
    svc = request.app[SERVICES]
    token = request.cookies.get(COOKIE, "")
    viewer = await asyncio.to_thread(_viewer, svc, token) if token else None
    if viewer is None:
        resp = web.HTTPSeeOther("/login?" + urlencode({"expired": 1}) if token else "/login")
        if token:
            resp.del_cookie(COOKIE, path="/")
        raise resp
    request[VIEWER] = viewer
    return await handler(request)


def _viewer(svc: DashboardServices, token: str) -> Viewer | None:
    now = svc.clock()
    with svc.uow() as uow:
        staff_id = uow.ledgers.session(_token_hash(token), now, svc.idle)
        if staff_id is None:
            return None
        reader = reader_of(uow, staff_id, now.astimezone(CHINA).date())
        if reader is None:
            return None
        uow.commit()
    return Viewer(reader, token)


def _audit(uow: UnitOfWork, v: Viewer, page: str, now: datetime, *, refused: str | None = None,
           **detail: object) -> None:
    """Record that the viewer read ``page`` (or, with ``refused``, was refused it, and why)."""
    r = v.reader
    uow.audit.append(
        AuditEvent(
            actor_staff_id=r.staff_id,
            actor_role=r.role.value,
            action="refused" if refused else "dashboard.view",
            entity="dashboard",
            entity_id=page,
            from_status=None,
            to_status=None,
            reason=refused,
            at=now,
            detail={"scope": r.scope.label, **detail},
        )
    )


# --- login ------------------------------------------------------------------------------------------------


async def login_form(request: web.Request) -> web.Response:
    """The login page."""
    note = "登录已过期，请重新登录。" if request.query.get("expired") else ""
    return _login_page(request, note)


async def _form(request: web.Request) -> Any:
    """The posted form, or 400 for a body that cannot be one (invalid UTF-8, a broken multipart, anything the
    parser chokes on): a hostile body is the client's error, never a 500."""
    try:
        return await request.post()
    except web.HTTPException:
        raise  # 413 for an oversize body stays 413
    except Exception:
        raise web.HTTPBadRequest(text="bad form") from None


def _login_token(request: web.Request) -> str:
    """The browser's login-form token, or a fresh one."""
    token = request.cookies.get(LOGIN_CSRF, "")
    return token if _TOKEN.fullmatch(token) else secrets.token_urlsafe(32)


def _login_page(request: web.Request, error: str = "", code: str = "", status: int = 200) -> web.Response:
    token = _login_token(request)
    err = f'<p class="error" id="login-error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""
<main class="login">
  <h1>巡诊工作看板</h1>
  <p class="sub">三明市卫健委医政科 · 支援医院</p>
  {err}
  <form method="post" action="/login" id="login-form">
    <input type="hidden" name="csrf" value="{escape(token)}">
    <label>人员编码 <input id="code" name="code" value="{escape(code)}" autocomplete="username" required></label>
    <label>密码 <input id="password" name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit" id="login-button">登录</button>
  </form>
  <p class="hint">账号为人员编码；密码由管理员用 <code>python -m bot set-password</code> 设置。</p>
</main>"""
    resp = web.Response(text=_html("登录 · 巡诊看板", body), content_type="text/html", status=status)
    resp.set_cookie(
        LOGIN_CSRF, token, httponly=True, samesite="Strict", secure=request.app[SERVICES].secure_cookie, path="/login"
    )
    return resp


async def login(request: web.Request) -> web.StreamResponse:
    """Check the password; on success start a session and go to the overview."""
    svc = request.app[SERVICES]
    form = await _form(request)
    code = str(form.get("code", "")).strip()[:32]
    password = str(form.get("password", ""))[:200]
    sent, expected = str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_page(request, "页面已过期，请重新登录。", code, status=403)
    # argon2 takes tens of milliseconds of CPU on purpose: never on the event loop.
    token, wait = await asyncio.to_thread(_check_login, svc, code, password, request.remote or "")
    if not token:
        if wait is not None:
            # Throttled: said plainly, with how long. Codes are counted as typed, known or not, so this reveals
            # nothing about which codes exist.
            resp = _login_page(request, LOGIN_THROTTLED.format(wait=wait_text(wait)), code, status=429)
            resp.headers["Retry-After"] = str(max(1, int(-(-wait.total_seconds() // 1))))
            return resp
        # One answer for an unknown code and a wrong password: it must not tell a guesser that the code exists.
        return _login_page(request, LOGIN_FAILED, code, status=401)
    resp = web.HTTPSeeOther("/")
    _set_session_cookie(resp, svc, token)
    raise resp


def _check_login(svc: DashboardServices, code: str, password: str, remote: str) -> tuple[str, timedelta | None]:
    """(the new session's token, "" when refused; the wait when this client is throttled for this code).

    Failures slow down only this client (for this code, and loosely for any code): the account is never
    locked for everyone. A throttled attempt is not checked at all. Every attempt is audited.
    """
    now = svc.clock()
    wait = svc.throttle.wait(remote, code, now)
    with svc.uow() as uow:
        repo = uow.ledgers
        st = uow.staff.by_code(code) if code else None
        ok = False
        if wait is None:
            cred = repo.credential(st.id) if st is not None and st.id is not None else None
            matches = verify_password(cred.password_hash if cred else _DUMMY_HASH, password) and cred is not None
            ok = bool(st and matches and may_use_dashboard(st))
            svc.throttle.note(remote, code, ok, now)
            if not ok:
                wait = svc.throttle.wait(remote, code, now)  # this failure may be the one that starts a delay
        uow.audit.append(
            AuditEvent(
                actor_staff_id=st.id if st else None,
                actor_role="dashboard",
                action="dashboard.login" if ok else "dashboard.login_failed",
                entity="dashboard",
                entity_id="login",
                from_status=None,
                to_status=None,
                reason=None if ok else ("throttled" if wait is not None else "bad_credentials"),
                at=now,
                detail={"code": code, "remote": remote},
            )
        )
        token = ""
        if ok and st is not None and st.id is not None:
            token = secrets.token_urlsafe(32)
            repo.add_session(_token_hash(token), st.id, now, svc.session_ttl)
        uow.commit()
    return token, (None if ok else wait)


def _set_session_cookie(resp: web.StreamResponse, svc: DashboardServices, token: str) -> None:
    resp.set_cookie(
        COOKIE,
        token,
        max_age=int(svc.session_ttl.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=svc.secure_cookie,
        path="/",
    )


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session."""
    v: Viewer = request[VIEWER]
    form = await _form(request)
    if not hmac.compare_digest(str(form.get("csrf", "")), v.csrf):
        raise web.HTTPForbidden(text="CSRF")
    svc = request.app[SERVICES]
    await asyncio.to_thread(_end_session, svc, v.token)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp


def _end_session(svc: DashboardServices, token: str) -> None:
    with svc.uow() as uow:
        uow.ledgers.end_session(_token_hash(token), svc.clock())
        uow.commit()


# --- pages ------------------------------------------------------------------------------------------------


def _period(request: web.Request, today: date, param: str = "period") -> Period:
    try:
        return _parse_period(request.query.get(param, ""))
    except DomainError:
        return _parse_period(f"{today:%Y-%m}")


AREA_PARAMS = ("place", "county", "city", "area")  # the names a narrowing to one city or county may come under


def _requested_area(request: web.Request) -> str | None:
    """The city or county code the request asks for (``?county=350421``), or None for the viewer's whole scope."""
    for name in AREA_PARAMS:
        value = request.query.get(name, "").strip()
        if value:
            return value[:32]
    return None


async def _data(request: web.Request, page: str, period: Period | None = None, *, personal: bool = True):
    svc = request.app[SERVICES]
    period = period or _period(request, svc.clock().astimezone(CHINA).date())
    area = _requested_area(request)
    return await asyncio.to_thread(_gather, svc, request[VIEWER], page, period, personal, area)


def _gather(svc: DashboardServices, v: Viewer, page: str, period: Period, personal: bool, area: str | None = None):
    now = svc.clock()
    today = now.astimezone(CHINA).date()
    with svc.uow() as uow:
        try:
            data = report_figures(uow, v.reader, period, today, now, area)
        except PermissionDenied:
            # Another place's figures: refused and audited, the same answer whether the code exists or not.
            _audit(uow, v, page, now, refused="outside_scope", asked=area or "")
            uow.commit()
            raise web.HTTPForbidden(text="403: 只能查看本辖区的数据 / outside your area") from None
        if personal:
            _audit(uow, v, page, now, period=period.code)
        uow.commit()
    return data


async def overview(request: web.Request) -> web.Response:
    """Target progress, the order funnel and wait times."""
    d = await _data(request, "overview", personal=False)
    v: Viewer = request[VIEWER]
    rows = []
    for p in d.progress:
        pct = 100 * p.ratio if p.ratio is not None else 0
        bar = f'<svg width="160" height="12" role="img" aria-label="{pct:.0f}%"><rect width="160" height="12" fill="#e5e5e5"/><rect width="{min(pct, 100) * 1.6:.0f}" height="12" fill="{"#3a7d44" if p.on_track else "#c0392b"}"/></svg>'  # noqa: E501
        target = f"{p.target:g}" if p.target else "未设定"
        proj = p.projected.isoformat() if p.projected else ("已完成" if p.met else "—")
        rows.append(
            f'<tr data-key="{escape(p.key)}"><td title="{escape("口径：" + TARGET_DEFINITIONS[p.key][0])}">'
            f'{escape(p.label)}</td><td class="n">{escape(target)}</td>'
            f'<td class="n">{p.actual:g}</td><td>{bar} {pct:.0f}%</td><td>{escape(proj)}</td>'
            f'<td class="st-{escape(p.status)}">{escape(p.status)}</td></tr>'
        )
    first = d.funnel[0].count or 1
    funnel = "".join(
        f'<tr><td>{escape(s.label)}</td><td class="n">{s.count}</td><td><svg width="220" height="12"><rect width="{220 * s.count / first:.0f}" height="12" fill="#4472c4"/></svg></td></tr>'  # noqa: E501
        for s in d.funnel
    )
    w = d.waits
    waits = "".join(f"<tr><td>{escape(lbl)}</td><td class='n'>{n}</td></tr>" for lbl, n in w.histogram)
    note = "" if d.targets_set or d.scope.is_city else "<p class='hint'>本范围未设定年度目标，只显示完成数。</p>"
    remote = "".join(
        f"<tr><td>{escape(d.place_name(r.county_code) if r.county_code else '合计')}</td>"
        f"<td>{escape(d.institution_names.get(r.hospital_code, r.hospital_code))}</td>"
        + "".join(f'<td class="n">{n}</td>' for n in (r.held, r.cancelled, r.no_show, r.scheduled, r.moved))
        + "</tr>"
        for r in d.remote
    ) or "<tr><td colspan='7'>本期没有远程会诊</td></tr>"
    body = f"""
<h1>目标进度 <small>{escape(d.scope.label)} · {d.period.first.year}年 · 截至{month_day(d.as_of)}</small></h1>
{note}
<table id="progress"><thead><tr><th>指标</th><th>年度目标</th><th>累计完成</th><th>完成率</th><th>按当前进度预计完成</th><th>状态</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<div class="cols">
<section><h2>订单漏斗（{escape(d.period.label)}登记）</h2><table id="funnel"><tbody>{funnel}</tbody></table></section>
<section><h2>候诊天数</h2><p>已诊 {w.count} 单，平均 {w.mean if w.mean is not None else "—"} 天，中位数 {w.median if w.median is not None else "—"} 天，90%分位 {w.p90 if w.p90 is not None else "—"} 天</p>
<table id="waits"><tbody>{waits}</tbody></table></section>
</div>
<section><h2>远程会诊（{escape(d.period.label)}）</h2><table id="remote"><thead><tr><th>县（市、区）</th><th>支援医院</th><th>已会诊</th><th>已取消</th><th>未到场</th><th>待会诊</th><th>已改期</th></tr></thead>
<tbody>{remote}</tbody></table></section>
{_referral_section(d)}"""  # noqa: E501
    return _page(request, v, "目标进度", body, d.period)


def _referral_section(d) -> str:
    """双向转诊: up- and down-referrals, no-shows and overdue follow-ups per county and hospital; slot use."""
    name = lambda code: d.institution_names.get(code, code)  # noqa: E731
    rows = "".join(
        f"<tr><td>{escape(d.place_name(r.county_code))}</td><td>{escape(name(r.hospital_code))}</td>"
        f"<td class='n'>{r.up}</td><td class='n'>{r.booked}</td><td class='n'>{r.no_shows}</td>"
        f"<td class='n'>{r.down}</td><td class='n'>{r.overdue_followups}</td></tr>"
        for r in d.referrals
    ) or "<tr><td colspan='7'>（无）</td></tr>"
    slots = "".join(
        f"<tr><td>{escape(name(u.hospital_code))}</td><td class='n'>{u.capacity}</td><td class='n'>{u.booked}</td>"
        f"<td class='n'>{'' if u.ratio is None else f'{100 * u.ratio:.0f}%'}</td></tr>"
        for u in d.slot_use
    ) or "<tr><td colspan='4'>（无）</td></tr>"
    return f"""<section><h2>双向转诊（{escape(d.period.label)}）</h2>
<p class="note">口径：{escape(SHEET_NOTES["双向转诊"])}</p>
<table id="referrals"><thead><tr><th>县（市、区）</th><th>接收医院</th><th>上转</th><th>已预约号源</th><th>爽约</th><th>下转</th><th>随访逾期</th></tr></thead>
<tbody>{rows}</tbody></table>
<table id="slot-use"><thead><tr><th>医院</th><th>预留号数</th><th>已约</th><th>使用率</th></tr></thead><tbody>{slots}</tbody></table>
</section>"""  # noqa: E501


async def month_calendar(request: web.Request) -> web.Response:
    """The month's circuits as a calendar grid."""
    svc = request.app[SERVICES]
    today = svc.clock().astimezone(CHINA).date()
    period = _period(request, today)
    if period.kind.value != "month":
        period = _parse_period(f"{period.first:%Y-%m}")
    d = await _data(request, "calendar", period)
    v: Viewer = request[VIEWER]
    by_day: dict[date, list[str]] = defaultdict(list)
    for cr in d.circuit_rows:
        c = cr.circuit
        names = "、".join(d.staff_name(s) for s in c.attended_by()) or "—"
        absent = "".join(f'<span class="absent">缺：{escape(d.staff_name(s))}</span>' for s in c.absent)
        by_day[c.day].append(
            f'<div class="circuit lvl-{escape(c.level)}" data-place="{escape(c.place_code)}">'
            f"{'上午' if c.half_day == 'am' else '下午'} <b>{escape(d.place_name(c.place_code))}</b><br>"
            f"{escape(d.institution_names.get(c.hospital_code, c.hospital_code))} · {escape(names)}{absent}</div>"
        )
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(period.first.year, period.first.month)
    cells = []
    for week in weeks:
        tds = []
        for day in week:
            cls = "other" if day.month != period.first.month else ("today" if day == today else "")
            tds.append(f'<td class="{cls}"><div class="day">{day.day}</div>{"".join(by_day.get(day, []))}</td>')
        cells.append("<tr>" + "".join(tds) + "</tr>")
    prev = (period.first - timedelta(days=1)).replace(day=1)
    nxt = period.last + timedelta(days=1)
    head = "".join(f"<th>{x}</th>" for x in "一二三四五六日")
    body = f"""
<h1>巡诊日历 <small>{escape(d.scope.label)} · {escape(period.label)} · 共 {len(d.circuit_rows)} 次巡诊</small></h1>
<p><a href="/calendar?period={prev:%Y-%m}">« 上月</a> · <a href="/calendar?period={nxt:%Y-%m}">下月 »</a></p>
<table id="calendar" class="calendar"><thead><tr>{head}</tr></thead><tbody>{"".join(cells)}</tbody></table>"""
    return _page(request, v, "巡诊日历", body, period)


async def overdue(request: web.Request) -> web.Response:
    """Places that missed their circuit frequency, and rule violations."""
    d = await _data(request, "overdue")
    v: Viewer = request[VIEWER]
    rows = "".join(
        f'<tr data-place="{escape(o.place_code)}"><td>{escape(o.place_code)}</td>'
        f"<td>{escape(d.place_name(o.place_code))}</td><td>{escape(FREQUENCY_LABELS[o.level])}</td>"
        f"<td>{o.first_missed.isoformat()}</td><td class='n'>{o.missed}</td>"
        f"<td>{o.last_visit.isoformat() if o.last_visit else '无记录'}</td></tr>"
        for o in d.overdue
    )
    viol = "".join(
        f"<tr><td>{escape(RULE_LABELS[x.rule])}</td><td>{escape(d.staff_name(x.staff_id))}</td>"
        f"<td>{x.when.isoformat()}</td><td>{escape(x.detail)}</td><td>{'预警' if x.warning else '违规'}</td></tr>"
        for x in d.violations
    )
    body = f"""
<h1>已逾期地点 <small>{escape(d.scope.label)} · {escape(d.period.label)} · {len(d.overdue)} 处</small></h1>
<p class="note">口径：{escape(SHEET_NOTES["已逾期地点"])}</p>
<table id="overdue"><thead><tr><th>编码</th><th>地点</th><th>频次要求</th><th>首个已过的应巡日期</th><th>缺次数</th><th>最近巡诊</th></tr></thead>
<tbody>{rows or '<tr><td colspan="6">无</td></tr>'}</tbody></table>
<h2>规则预警</h2>
<table id="violations"><thead><tr><th>规则</th><th>医师</th><th>时间</th><th>说明</th><th>级别</th></tr></thead>
<tbody>{viol or '<tr><td colspan="5">无</td></tr>'}</tbody></table>"""  # noqa: E501
    return _page(request, v, "已逾期地点", body, d.period)


async def catalogue_page(request: web.Request) -> web.Response:
    """First-diagnosis catalogues (issue 20): each center's size against 80/50, matching orders handled locally."""
    d = await _data(request, "catalogue", personal=False)
    v: Viewer = request[VIEWER]
    rows = "".join(
        f'<tr data-institution="{escape(c.institution_code)}"><td>{escape(c.name)}</td>'
        f"<td>{'中心卫生院/社区医院' if c.tier.value == 'central' else '一般卫生院'}</td>"
        f"<td class='n'>{c.size}</td><td class='n'>{c.target}</td>"
        f"<td class='{'st-达标' if c.meets_target else 'st-未达标'}'>{'达标' if c.meets_target else '未达标'}</td>"
        f"<td class='n'>{c.matched_orders}</td><td class='n'>{c.handled_locally}</td>"
        f"<td class='n'>{'—' if c.local_share is None else f'{100 * c.local_share:.0f}%'}</td></tr>"
        for c in d.catalogue
    )
    met = sum(1 for c in d.catalogue if c.meets_target)
    matched = sum(c.matched_orders for c in d.catalogue)
    local = sum(c.handled_locally for c in d.catalogue)
    share = f"{100 * local / matched:.0f}%" if matched else "—"
    body = f"""
<h1>首诊病种目录 <small>{escape(d.scope.label)} · 截至{month_day(d.as_of)}</small></h1>
<p id="catalogue-summary">{len(d.catalogue)} 家卫生院，{met} 家目录达到目标；{escape(d.period.label)}目录内订单 {matched} 单，本院处理 {local} 单（{share}）。</p>
<p class="note">口径：{escape(SHEET_NOTES["首诊病种目录"])}</p>
<table id="catalogue"><thead><tr><th>卫生院</th><th>类别</th><th>病种数</th><th>目标</th><th>达标</th><th>目录内订单</th><th>本院处理</th><th>占比</th></tr></thead>
<tbody>{rows or '<tr><td colspan="8">无</td></tr>'}</tbody></table>"""  # noqa: E501
    return _page(request, v, "首诊病种目录", body, d.period)


async def leads(request: web.Request) -> web.Response:
    """The problem-lead ledger and the rectification list."""
    d = await _data(request, "leads")
    v: Viewer = request[VIEWER]
    rows = "".join(
        f"<tr><td>{x.id}</td><td>{escape(LEAD_SOURCE_LABELS[x.source])}</td><td>{x.created_at_day.isoformat()}</td>"
        f"<td>{escape(d.place_name(x.place_code))}</td><td>{'' if x.score is None else x.score}</td>"
        f"<td>{escape(x.summary)}</td><td>{escape(x.owner_name or '未指定')}</td>"
        f"<td>{escape(LEAD_STATUS_LABELS[x.status])}</td><td>{escape(x.resolution or '')}</td>"
        f"<td{' class=late' if x.overdue(d.as_of) else ''}>{x.due.isoformat() if x.due else ''}</td></tr>"
        for x in d.leads
    )
    body = f"""
<h1>问题线索台账 <small>{escape(d.scope.label)} · {escape(d.period.label)} · {len(d.leads)} 条</small></h1>
<table id="leads"><thead><tr><th>编号</th><th>来源</th><th>登记日期</th><th>地点</th><th>评分</th><th>问题描述</th><th>责任人</th><th>状态</th><th>处理结果</th><th>整改期限</th></tr></thead>
<tbody>{rows or '<tr><td colspan="10">无</td></tr>'}</tbody></table>
<p class="hint">低分评价（1–2分）、群众投诉和12345热线工单自动进入台账；登记与办结：<code>python -m bot lead add|update</code>。</p>"""  # noqa: E501
    return _page(request, v, "问题线索", body, d.period)


async def report_download(request: web.Request) -> web.StreamResponse:
    """The report for the viewer's scope as a workbook (or csv/md)."""
    from bot.web.reports import render_md, write_xlsx

    fmt = request.query.get("format", "xlsx")
    if fmt not in ("xlsx", "md"):
        raise web.HTTPBadRequest(text="format: xlsx | md")
    d = await _data(request, "report", personal=True)
    name = f"report-{d.period.code}.{fmt}"
    if fmt == "md":
        return web.Response(
            text=await asyncio.to_thread(render_md, d),
            content_type="text/markdown",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    svc = request.app[SERVICES]

    def build() -> bytes:
        # The folder holds personal data: it goes away even when writing fails.
        with tempfile.TemporaryDirectory(prefix="xz-report-", dir=svc.report_dir) as folder:
            return write_xlsx(d, Path(folder) / name).read_bytes()

    body = await asyncio.to_thread(build)
    return web.Response(
        body=body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- layout -----------------------------------------------------------------------------------------------

CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei","Microsoft YaHei",sans-serif;margin:0;color:#222}
body{background:#fafafa}
header{background:#1f4e79;color:#fff;padding:8px 16px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;font-size:90%}
header form{display:inline}header button{background:none;border:1px solid #fff;color:#fff;cursor:pointer}
main{padding:12px 16px}h1 small{font-size:60%;color:#666;font-weight:normal}
table{border-collapse:collapse;background:#fff;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 6px;font-size:14px}
th{background:#ddebf7}td.n{text-align:right}.cols{display:flex;gap:32px;flex-wrap:wrap}
.calendar td{vertical-align:top;width:14%;height:90px}.calendar td.other{background:#f0f0f0;color:#999}
.calendar td.today{outline:2px solid #1f4e79}.day{font-weight:bold}
.circuit{font-size:12px;margin:2px 0;padding:2px;border-left:3px solid #4472c4;background:#eef3fb}
.circuit.lvl-mobile{border-color:#c55a11}.circuit.lvl-county{border-color:#70ad47}.absent{color:#c0392b;margin-left:4px}
.login{max-width:360px;margin:80px auto;background:#fff;padding:24px;border:1px solid #ddd}
.login label{display:block;margin:10px 0}.login input{width:100%;padding:6px;box-sizing:border-box}
.login button{padding:6px 24px}.error{color:#c0392b;font-weight:bold}.hint{color:#666;font-size:90%}
.st-进度滞后,.late{color:#c0392b}.st-已完成{color:#3a7d44}
"""


def _html(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )


def _page(request: web.Request, v: Viewer, title: str, body: str, period: Period) -> web.Response:
    q = f"?period={escape(period.code)}"
    r = v.reader
    nav = (
        f'<header><b>巡诊工作看板</b><a href="/{q}">目标进度</a>'
        f'<a href="/calendar?period={period.first:%Y-%m}">巡诊日历</a>'
        f'<a href="/overdue{q}">已逾期地点</a><a href="/leads{q}">问题线索</a>'
        f'<a href="/catalogue{q}">首诊病种目录</a>'
        f'<a href="/report{q}&amp;format=xlsx">下载报表</a>'
        f'<span class="who" id="who">{escape(r.staff.name)}（{escape(r.institution_name)}）'
        f'· 范围：{escape(r.scope.label)}</span>'
        f'<form method="post" action="/logout"><input type="hidden" name="csrf" value="{v.csrf}">'
        '<button id="logout">退出</button></form></header>'
    )
    return web.Response(text=_html(f"{title} · 巡诊看板", nav + "<main>" + body + "</main>"), content_type="text/html")
