"""`qingling serve --demo`: a demo county bureau to try Qingling with.

Seeded once, into an empty database. Every demo account's password is DEMO_PASSWORD;
the README lists the accounts. Besides the incidents, the callback desk and the reports'
satisfaction figures have something to show (PROTOCOL §9, `seed_verdicts`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from server.access.accounts import Caller, hash_password
from server.core.clock import SHANGHAI, ManualClock, SystemClock, use_clock, utcnow
from server.core.tables import Bureau, Station
from server.services import incidents, notices, supervision, verdicts
from server.services.admin import add_station, add_user, ensure_bureau
from server.services.agencies import Duties, set_duties
from server.write.ingest import push_ops
from sync.ids import time_ordered_id
from sync.messages import (
    DIMENSIONS,
    CallbackAttempt,
    NoticeRequest,
    Ratings,
    RejectRequest,
    SuperviseRequest,
)

DEMO_PASSWORD = "qingling-demo"

STATIONS = [
    # key, name, kind, area
    ("command", "清岭县公安局指挥中心", "command_center", "urban"),
    ("chengguan", "城关派出所", "police_station", "urban"),
    ("hekou", "河口派出所", "police_station", "rural"),
    ("shiqiao", "石桥联勤警务站", "joint_service_post", "rural"),
    ("hotline", "县12345热线", "linked_agency", "urban"),
    ("housing", "县住房和城乡建设局", "linked_agency", "urban"),
    ("power", "城关供电所", "linked_agency", "urban"),
    ("township", "城关镇人民政府", "linked_agency", "urban"),
    ("transport", "县交通运输局", "linked_agency", "urban"),
]

# The responsibility list (职责清单, PROTOCOL §10): which non-police calls are whose, and
# how fast each unit must acknowledge (minutes) and answer (hours).
DUTIES = {
    "hotline": (["咨询", "投诉", "噪音", "物业", "退费", "政策"], ["non_police", "help"], 30, 24),
    "housing": (
        ["水管", "爆管", "爆裂", "漏水", "路面塌陷", "塌陷", "违建", "违章建筑", "井盖"],
        ["non_police"],
        30,
        24,
    ),
    "power": (["停电", "断电", "电线", "电杆", "漏电"], ["non_police", "help"], 15, 12),
    "township": (["邻里", "流浪犬", "流浪狗", "占道", "垃圾"], ["non_police", "dispute"], 60, 48),
    "transport": (["公交", "出租车", "客运", "拒载", "站台"], ["non_police", "traffic"], 30, 24),
}

PEOPLE = [
    # username, name, role, station key
    ("admin", "系统管理员", "admin", "command"),
    ("dispatcher", "王丽", "dispatcher", "command"),
    ("dispatcher2", "李强", "dispatcher", "command"),
    ("supervisor", "赵敏", "supervisor", "command"),
    ("chief.chengguan", "陈刚", "station_chief", "chengguan"),
    ("chief.hekou", "刘洋", "station_chief", "hekou"),
    ("officer.zhang", "张伟", "officer", "chengguan"),
    ("officer.li", "李娜", "officer", "chengguan"),
    ("officer.wang", "王军", "officer", "hekou"),
    ("officer.sun", "孙浩", "officer", "shiqiao"),
    ("grid.zhou", "周芳", "grid_worker", "hekou"),
    ("mediator.wu", "吴静", "mediator", "shiqiao"),
    ("agency.hotline", "郑洁", "agency", "hotline"),
    ("agency.housing", "冯涛", "agency", "housing"),
    ("agency.power", "蒋磊", "agency", "power"),
    ("agency.township", "韩梅", "agency", "township"),
    ("agency.transport", "杨帆", "agency", "transport"),
]


async def seed_demo() -> bool:
    """Seed the demo bureau if the database has none; returns whether it seeded."""
    if await Bureau.exists():
        return False
    bureau_id = await ensure_bureau("清岭县公安局 (demo)")
    stations = {}
    for key, name, kind, area in STATIONS:
        stations[key] = (await add_station(name, area, kind, bureau_id))["id"]
    people = {}
    # Every demo account has the same password: hash it once, not once per account.
    password_hash = hash_password(DEMO_PASSWORD)
    for username, name, role, station_key in PEOPLE:
        person = await add_user(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            station=stations[station_key],
            name=name,
            password_hash=password_hash,
        )
        people[username] = person["id"]

    desk = Caller(
        person_id=people["dispatcher"],
        name="王丽",
        role="dispatcher",
        station_id=stations["command"],
        bureau_id=bureau_id,
        device_id="demo-seed",
    )
    for key, (keywords, categories, ack, feedback) in DUTIES.items():
        duties = Duties(
            keywords=keywords,
            categories=categories,  # type: ignore[arg-type]
            ack_minutes=ack,
            feedback_hours=feedback,
        )
        await set_duties(bureau_id, stations[key], duties, actor=people["admin"])
    await seed_history(bureau_id, stations, people, desk)
    await seed_diversions(bureau_id, stations, people, desk)
    await seed_cases(bureau_id, stations, people, desk)
    now = utcnow()

    async def call(minutes_ago: int, category: str, area: str, address: str, narrative: str):
        body = incidents.CreateIncident(
            category=category,  # type: ignore[arg-type]
            area_type=area,  # type: ignore[arg-type]
            address=address,
            narrative=narrative,
            caller_name="报警人",
            caller_phone="13800000000",
            received_at=now - timedelta(minutes=minutes_ago),
        )
        return (await incidents.create_incident(desk, body)).id

    async def send(incident_id: str, minutes_ago: int, station: str, usernames: list[str]):
        await incidents.dispatch_incident(
            desk,
            incident_id,
            incidents.Dispatch(
                station_id=stations[station],
                person_ids=[people[u] for u in usernames],
                dispatched_at=now - timedelta(minutes=minutes_ago),
            ),
        )

    await call(2, "dispute", "urban", "城关镇人民路18号", "邻里因噪音发生争吵，请求民警到场")
    fresh = await call(6, "public_order", "urban", "城关镇文化广场", "广场有人酒后滋事")
    await send(fresh, 4, "chengguan", ["officer.zhang", "officer.li"])
    late = await call(45, "dispute", "rural", "河口村三组", "两户村民因宅基地边界纠纷")
    await send(late, 43, "hekou", ["officer.wang", "grid.zhou"])
    done = await call(150, "help", "urban", "城关镇幸福小区5栋", "老人走失，家属求助")
    await send(done, 148, "chengguan", ["officer.zhang"])
    # Closing opens its callback, due in 72 h (PROTOCOL §9; see seed_verdicts).
    await incidents.close_incident(desk, done, incidents.Close(summary="老人已找到，送回家中"))
    dup = await call(30, "traffic", "rural", "S205省道石桥段", "两车刮擦，无人员受伤")
    await incidents.cancel_incident(
        desk, dup, incidents.Cancel(reason="当事人已自行协商解决，撤销警情")
    )
    await seed_supervision(bureau_id, stations, people, late=late, fresh=fresh, done=done)
    return True


async def seed_supervision(
    bureau_id: str,
    stations: dict[str, str],
    people: dict[str, str],
    *,
    late: str,
    fresh: str,
    done: str,
) -> None:
    """Supervision orders and notices (PROTOCOL §11), through the services and the write
    path: a 挂牌督办 on the late rural call, open and past its due time (the scheduler
    opens its review item when the server starts); an order answered by 城关's chief,
    awaiting the supervisor; one answered, rejected, answered again and accepted; a
    criticism notice owing rectification from two stations (one done), and a briefing."""
    real = utcnow()
    manual = ManualClock(real)
    use_clock(manual)

    def caller(username: str, role: str, station: str) -> Caller:
        return Caller(
            person_id=people[username],
            name=username,
            role=role,
            station_id=stations[station],
            bureau_id=bureau_id,
            device_id=f"demo-{username}",
        )

    boss = caller("supervisor", "supervisor", "command")
    chengguan = caller("chief.chengguan", "station_chief", "chengguan")

    async def order(at: datetime, incident_id: str, level: str, text: str, due: datetime) -> str:
        manual.set(at)
        request = SuperviseRequest(level=level, instructions=text, due_at=due)  # type: ignore[arg-type]
        return (await supervision.issue_order(boss, incident_id, request)).id

    async def answer(chief: Caller, at: datetime, incident_id: str, order_id: str, text: str):
        body = {"order_id": order_id, "text": text, "attachments": []}
        await _field_op(manual, chief, incident_id, "supervision_reply", at, body)

    try:
        ago = lambda minutes: real - timedelta(minutes=minutes)  # noqa: E731
        await order(
            ago(40), late, "bureau", "群众反映处警迟缓，请河口派出所30分钟内查明原因并报告", ago(10)
        )
        accepted = await order(
            ago(100),
            done,
            "station",
            "老人走失求助，请核实处置过程并报告",
            real + timedelta(hours=4),
        )
        await answer(chengguan, ago(80), done, accepted, "已找到老人")
        manual.set(ago(70))
        await supervision.reject_order(
            boss, accepted, RejectRequest(reason="请补充查找经过和送返时间")
        )
        await answer(
            chengguan, ago(50), done, accepted, "接警后民警沿河堤查找，40分钟后找到老人并送回家中"
        )
        manual.set(ago(30))
        await supervision.accept_order(boss, accepted)

        manual.set(ago(60))
        notice = await notices.issue_notice(
            boss,
            NoticeRequest(
                kind="criticism",
                station_ids=[stations["hekou"], stations["chengguan"]],
                incident_ids=[late],
                text="近期农村警情到场超时较多，请各所对照检查并于两日内报送整改情况",
                rectify_by=real + timedelta(days=2),
            ),
        )
        body = {"notice_id": notice.id, "text": "已组织全所学习，调整夜间备勤", "attachments": []}
        await _field_op(manual, chengguan, None, "rectification", ago(20), body)
        # The chief's phone records its ops in time order (else the device-order rule
        # would rightly flag them clock_suspect): this order is answered last.
        answered = await order(
            ago(3),
            fresh,
            "station",
            "广场滋事警情，请所领导到场督导处置",
            real + timedelta(hours=2),
        )
        await answer(chengguan, ago(1), fresh, answered, "所长已到场，滋事人员已带离，现场秩序恢复")
        manual.set(ago(15))
        await notices.issue_notice(
            boss,
            NoticeRequest(
                kind="briefing",
                station_ids=[stations["chengguan"], stations["hekou"], stations["shiqiao"]],
                text="本周起夜间巡逻加密，请各所合理安排警力",
            ),
        )
    finally:
        use_clock(SystemClock())


# Three past days of incidents for the board and the reports to show, each driven through
# the real write path (create, dispatch, field ops, close) at its own time: a ManualClock is
# installed while they are recorded. Per day, per row: received at (hour, minute) local
# time, category, area station, who goes, minutes to arrival (None: nobody arrived),
# minutes to the first result, hours from receipt to closing (None: left open).
HISTORY: list[tuple[int, int, str, str, str, int | None, int | None, float | None]] = [
    (8, 10, "dispute", "chengguan", "officer.zhang", 6, 40, 2.0),
    (9, 30, "public_order", "chengguan", "officer.li", 13, 90, 5.0),
    (10, 5, "dispute", "hekou", "officer.wang", 17, 60, 3.0),
    (11, 40, "help", "shiqiao", "officer.sun", 25, 300, 26.0),
    (14, 20, "traffic", "chengguan", "officer.zhang", 8, 30, 1.5),
    (16, 0, "criminal", "hekou", "officer.wang", 15, 120, 20.0),
    (19, 45, "dispute", "shiqiao", "mediator.wu", None, None, 30.0),
    (22, 30, "public_order", "chengguan", "officer.li", 9, 50, 3.0),
]
# And, four and five days back, three incidents closed long enough ago that their callbacks
# are overdue whenever the demo starts (a callback is due 72 h after the close).
BACKLOG: dict[int, list[tuple[int, int, str, str, str, int | None, int | None, float | None]]] = {
    5: [(9, 20, "help", "chengguan", "officer.li", 7, 45, 3.0)],
    4: [
        (15, 10, "dispute", "hekou", "officer.wang", 16, 70, 4.0),
        (20, 30, "public_order", "chengguan", "officer.zhang", 9, 35, 2.0),
    ],
}

# The citizen's word on the past incidents (PROTOCOL §9), by (days ago, row): the source,
# the four dimensions (reception, timeliness, conduct, handling) and the overall verdict
# as S(atisfied), B(asically satisfied) or U(nsatisfied), a comment, and for a callback
# the attempts before it was reached ("n" unanswered, "y" reached).
Verdict = tuple[str, str, str, str, str]
VERDICTS: dict[tuple[int, int], Verdict] = {
    (3, 0): ("callback", "SSSS", "S", "民警态度很好，处理及时", "y"),
    (3, 1): ("qr", "SSSB", "S", "", ""),
    (3, 2): ("poster", "SBSB", "B", "", ""),
    (3, 3): ("callback", "BUSU", "U", "等了快半小时民警才到，问题也没解决", "y"),
    (3, 4): ("callback", "SSSS", "S", "", "ny"),
    (2, 0): ("qr", "SSSS", "S", "谢谢民警", ""),
    (2, 1): ("callback", "SBBS", "B", "", "y"),
    (2, 2): ("poster", "SSSS", "S", "", ""),
    (2, 7): ("callback", "SSSS", "S", "", "ny"),
    (1, 0): ("qr", "SSSS", "S", "", ""),
    (1, 2): ("poster", "SSBS", "S", "", ""),
}
# Callbacks not answered yet, by (days ago, row): how many attempts rang out (the third
# makes the task unreachable). Every other closed incident's callback is due, untried.
UNANSWERED: dict[tuple[int, int], int] = {(5, 0): 2, (4, 0): 1, (3, 5): 3, (3, 7): 2, (2, 4): 1}
# The caller may be endangered by a call back (a family dispute): no callback task.
NO_CALLBACK = {(3, 6)}
# The officer showed the caller a rating QR code at the scene (a `rating_invite` op);
# (1, 4)'s caller has not rated yet.
INVITED = {(3, 1), (2, 0), (1, 0), (1, 4)}
LEVEL = {"S": "satisfied", "B": "basically_satisfied", "U": "unsatisfied"}
CALLERS = ["王先生", "李女士", "张先生", "赵女士", "刘先生", "陈女士"]


# The client address the demo's public ratings (QR, poster) count against (PROTOCOL §9
# limits public POSTs per address); no real client has it.
DEMO_ADDRESS = "demo-seed"


@dataclass
class Past:
    """A past incident as seeded, for the callbacks and verdicts written after it."""

    id: str
    number: str
    station_id: str
    phone_last4: str
    received: datetime
    closed_at: datetime | None
    token: str | None = None  # the token of its rating invite, if any


async def seed_history(
    bureau_id: str, stations: dict[str, str], people: dict[str, str], desk: Caller
) -> None:
    real = utcnow()
    today = real.astimezone(SHANGHAI).date()
    manual = ManualClock(real)
    use_clock(manual)
    past: dict[tuple[int, int], Past] = {}
    try:
        for days_ago in (5, 4, 3, 2, 1):
            day = today - timedelta(days=days_ago)
            for n, row in enumerate(BACKLOG.get(days_ago, HISTORY)):
                hour, minute, category, station, username, arrive, result, close = row
                received = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
                if days_ago == 1 and close is not None and received + timedelta(hours=close) > real:
                    close = None  # would close in the future: still open
                if days_ago == 2 and n == 3:
                    close = None  # one left open: carried over, overdue on the board
                past[days_ago, n] = await _history_incident(
                    manual,
                    bureau_id,
                    stations,
                    people,
                    desk,
                    received,
                    row,
                    close,
                    cancel=days_ago == 2 and n == 5,
                    serial=len(past),
                    invite=(days_ago, n) in INVITED,
                    no_callback=(days_ago, n) in NO_CALLBACK,
                )
        await seed_verdicts(manual, real, desk, past)
    finally:
        use_clock(SystemClock())


async def _history_incident(
    manual: ManualClock,
    bureau_id: str,
    stations: dict[str, str],
    people: dict[str, str],
    desk: Caller,
    received: datetime,
    row: tuple[Any, ...],
    close: float | None,
    *,
    cancel: bool,
    serial: int,  # the incident's place in the demo history: its caller, its token
    invite: bool,
    no_callback: bool,
) -> Past:
    _, _, category, station, username, arrive, result, _ = row
    area = "urban" if station == "chengguan" else "rural"
    manual.set(received)
    created = await incidents.create_incident(
        desk,
        incidents.CreateIncident(
            category=category,  # type: ignore[arg-type]
            area_type=area,  # type: ignore[arg-type]
            address=f"{STATION_NAMES[station]}辖区",
            narrative="历史警情（演示数据）",
            caller_name=CALLERS[serial % len(CALLERS)],
            caller_phone=f"1390751{serial:04d}",
            no_callback=no_callback,
        ),
    )
    incident_id = created.id
    past = Past(
        id=incident_id,
        number=created.number,
        station_id=stations[station],
        phone_last4=f"{serial:04d}",
        received=received,
        closed_at=None,
    )
    if cancel:
        manual.set(received + timedelta(minutes=3))
        await incidents.cancel_incident(desk, incident_id, incidents.Cancel(reason="重复报警"))
        return past
    dispatched = received + timedelta(minutes=2)
    manual.set(dispatched)
    await incidents.dispatch_incident(
        desk,
        incident_id,
        incidents.Dispatch(station_id=stations[station], person_ids=[people[username]]),
    )
    phone = Caller(
        person_id=people[username],
        name=username,
        role="officer",
        station_id=stations[station],
        bureau_id=bureau_id,
        device_id=f"demo-{username}",
    )
    if arrive is not None:
        await _field_op(
            manual,
            phone,
            incident_id,
            "arrival",
            dispatched + timedelta(minutes=arrive),
            {"lat": None, "lon": None, "accuracy_m": None},
        )
    if result is not None:
        body = {"situation": "现场已控制", "parties": 2, "injured": 0, "needs_backup": False}
        at = dispatched + timedelta(minutes=result)
        await _field_op(manual, phone, incident_id, "scene_report", at, body)
        if invite:
            # The phone shows the caller a QR code of /rate/{token}; the server gets only the
            # token's SHA-256 (PROTOCOL §9). Demo tokens are derived from the incident's
            # place in the demo, so every demo start makes the same ones.
            past.token = hashlib.sha256(f"qingling-demo-{serial}".encode()).hexdigest()[:32]
            await _field_op(
                manual,
                phone,
                incident_id,
                "rating_invite",
                at + timedelta(minutes=2),
                {"token_sha256": hashlib.sha256(past.token.encode()).hexdigest()},
            )
    if close is not None:
        past.closed_at = received + timedelta(hours=close)
        manual.set(past.closed_at)
        # Closing opens the callback task, due 72 h later (PROTOCOL §9), unless no_callback.
        await incidents.close_incident(desk, incident_id, incidents.Close(summary="已处置完毕"))
    return past


async def seed_verdicts(
    manual: ManualClock, real: datetime, desk: Caller, past: dict[tuple[int, int], Past]
) -> None:
    """The callbacks and verdicts on the closed past incidents, through the §9 services at
    their own times (the manual clock): callback attempts (some tasks tried once or twice
    and still due, some overdue; one unreachable after three), and the verdicts of
    VERDICTS by callback, QR (the invite its officer's phone pushed) and poster. The
    services record each verdict (the task done, the record republished, an unsatisfied
    one's `citizen_unsatisfied` review item). Closing opened every task, due."""
    codes = {
        row["id"]: row["rating_code"]
        for row in await Station.select(Station.id, Station.rating_code)
    }
    # (when, incident key, attempt, what): "n"/"y" a call unanswered/reached, else the source.
    steps: list[tuple[datetime, tuple[int, int], int, str]] = []
    for key, p in past.items():
        if p.closed_at is None or key in NO_CALLBACK:
            continue
        verdict = VERDICTS.get(key)
        tries = verdict[4] if verdict else "n" * UNANSWERED.get(key, 0)
        # Callback attempts 18 h after the close, then every 4 h; a QR or poster verdict
        # comes 2 h after the close. Never later than the real now.
        for i, answer in enumerate(tries):
            steps.append((min(p.closed_at + timedelta(hours=18 + 4 * i), real), key, i, answer))
        if verdict is not None and verdict[0] != "callback":
            steps.append((min(p.closed_at + timedelta(hours=2), real), key, 0, verdict[0]))
    for at, key, _, what in sorted(steps):
        manual.set(at)
        p = past[key]
        if what == "n":
            await verdicts.callback_attempt(desk, p.id, CallbackAttempt(reached=False))
            continue
        _, dimensions, overall, comment, _ = VERDICTS[key]
        levels = (LEVEL[d] for d in dimensions)
        ratings = msgspec.convert(dict(zip(DIMENSIONS, levels, strict=True)), Ratings)
        if what == "y":
            body = CallbackAttempt(
                reached=True,
                ratings=ratings,
                overall=LEVEL[overall],  # type: ignore[arg-type]
                comment=comment,
            )
            await verdicts.callback_attempt(desk, p.id, body)
            continue
        rating = {"ratings": ratings, "overall": LEVEL[overall], "comment": comment}
        if what == "qr":
            assert p.token is not None
            await verdicts.rate_by_token(p.token, msgspec.json.encode(rating), DEMO_ADDRESS)
        else:
            named = {"incident_number": p.number, "phone_last4": p.phone_last4, **rating}
            code = codes[p.station_id]
            await verdicts.rate_by_poster(code, msgspec.json.encode(named), DEMO_ADDRESS)
    manual.set(real)


# Today's diverted calls (PROTOCOL §10), one in each state. Per row: received minutes
# ago, category, address, narrative, agency, then the agency's facts as (minutes ago,
# op type, body); minutes after the call the dispatcher diverts it: 2.
DIVERSIONS: list[tuple[int, str, str, str, str, list[tuple[int, str, dict[str, Any]]]]] = [
    (
        95,
        "non_police",
        "城关镇解放路与人民路口",
        "路口自来水管爆裂，路面大量积水，车辆无法通行",
        "housing",
        [
            (85, "ack_dispatch", {}),
            (20, "agency_feedback", {"outcome": "handled", "text": "已关阀抢修，路面积水已排"}),
        ],
    ),
    (
        62,
        "non_police",
        "城关镇幸福小区",
        "小区整栋楼停电两个多小时，电梯困人已自行脱困",
        "power",
        [(55, "ack_dispatch", {})],
    ),
    (
        300,
        "non_police",
        "城关镇西街菜市场",
        "菜市场附近有流浪犬追咬行人，群众要求处理",
        "township",
        [
            (280, "ack_dispatch", {}),
            (
                180,
                "agency_feedback",
                {"outcome": "referred", "text": "已转县畜牧兽医站犬只收容，明早捕捉"},
            ),
        ],
    ),
    (
        42,
        "non_police",
        "城关汽车站",
        "乘客称城乡客运车辆拒载，要求处理",
        "transport",
        [
            (
                12,
                "agency_feedback",
                {
                    "outcome": "returned",
                    "text": "该车为套牌非法营运车辆，涉嫌违法，应由公安交警查处，非本局职责",
                },
            )
        ],
    ),
    (
        180,
        "non_police",
        "城关镇人民路18号",
        "楼下烧烤店深夜噪音扰民，多次投诉无果",
        "hotline",
        [],
    ),
]


async def seed_diversions(
    bureau_id: str, stations: dict[str, str], people: dict[str, str], desk: Caller
) -> None:
    """Today's diverted calls: handled, acknowledged, referred, returned (back on the board
    with its reason), and one whose agency never acknowledged (its clock overdue: the
    SLA watch opens the review item when the server starts)."""
    real = utcnow()
    manual = ManualClock(real)
    use_clock(manual)
    try:
        for received_ago, category, address, narrative, agency, facts in DIVERSIONS:
            received = real - timedelta(minutes=received_ago)
            manual.set(received)
            incident_id = (
                await incidents.create_incident(
                    desk,
                    incidents.CreateIncident(
                        category=category,  # type: ignore[arg-type]
                        area_type="urban",
                        address=address,
                        narrative=narrative,
                        caller_name="报警人",
                        caller_phone="13900000000",
                    ),
                )
            ).id
            manual.set(received + timedelta(minutes=2))
            username = f"agency.{agency}"
            await incidents.divert_incident(
                desk,
                incident_id,
                incidents.Divert(
                    agency_id=stations[agency],
                    person_ids=[people[username]],
                    instructions="请按职责处置，并及时反馈处理结果",
                ),
            )
            phone = Caller(
                person_id=people[username],
                name=username,
                role="agency",
                station_id=stations[agency],
                bureau_id=bureau_id,
                device_id=f"demo-{username}",
            )
            for ago, kind, body in facts:
                if kind == "agency_feedback":
                    body = {**body, "attachments": []}
                await _field_op(
                    manual, phone, incident_id, kind, real - timedelta(minutes=ago), body
                )
    finally:
        use_clock(SystemClock())


# Accepted cases (PROTOCOL §11, 立案月清仓 / 积案季清底), by days ago: received (at 10:00
# Shanghai), station, officer, category, then the case's progress (days ago, stage). The
# call itself is closed (销号) the same day with its three feedbacks in; the case goes on.
# The first, filed about a hundred days ago and never closed, is the quarterly backlog.
CASES: list[tuple[int, str, str, str, str, list[tuple[int, str]]]] = [
    (100, "chengguan", "officer.zhang", "criminal", "城关刑立字〔演示〕001号", [(99, "filed")]),
    (
        20,
        "hekou",
        "officer.wang",
        "criminal",
        "河口刑立字〔演示〕002号",
        [(19, "filed"), (8, "solved")],
    ),
    (
        12,
        "chengguan",
        "officer.li",
        "public_order",
        "城关行立字〔演示〕003号",
        [(12, "filed"), (3, "closed")],
    ),
    (
        6,
        "hekou",
        "officer.wang",
        "criminal",
        "河口刑立字〔演示〕004号",
        [(5, "filed"), (2, "transferred")],
    ),
    (2, "chengguan", "officer.zhang", "criminal", "城关刑立字〔演示〕005号", [(1, "filed")]),
]
# Mediation agreements (人民调解) of the joint service post's mediator, standalone cases,
# by days ago: the agreement and the follow-up date (days from today; None: none). The
# first's follow-up is due: the phone reminds the mediator, the reports count it.
MEDIATIONS: list[tuple[int, str, int | None]] = [
    (4, "reached", -1),
    (3, "partial", 0),
    (1, "reached", 5),
    (2, "failed", None),
]


async def seed_cases(
    bureau_id: str, stations: dict[str, str], people: dict[str, str], desk: Caller
) -> None:
    """Accepted cases at every stage and mediation outcomes with follow-ups, through the
    real write path at their own times (each case on its own phone, so every phone's ops
    stay in time order)."""
    real = utcnow()
    today = real.astimezone(SHANGHAI).date()
    manual = ManualClock(real)
    use_clock(manual)
    try:
        for n, (days_ago, station, username, category, number, progress) in enumerate(CASES):
            day = today - timedelta(days=days_ago)
            received = datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI)
            manual.set(received)
            incident_id = (
                await incidents.create_incident(
                    desk,
                    incidents.CreateIncident(
                        category=category,  # type: ignore[arg-type]
                        area_type="urban" if station == "chengguan" else "rural",  # type: ignore[arg-type]
                        address=f"{STATION_NAMES[station]}辖区",
                        narrative="刑事、治安案件（演示数据）",
                        caller_name=CALLERS[n % len(CALLERS)],
                        caller_phone=f"1390752{n:04d}",
                    ),
                )
            ).id
            manual.set(received + timedelta(minutes=2))
            await incidents.dispatch_incident(
                desk,
                incident_id,
                incidents.Dispatch(station_id=stations[station], person_ids=[people[username]]),
            )
            phone = Caller(
                person_id=people[username],
                name=username,
                role="officer",
                station_id=stations[station],
                bureau_id=bureau_id,
                device_id=f"demo-case{n}-{username}",
            )
            scene = {"situation": "现场已控制", "parties": 2, "injured": 0, "needs_backup": False}
            accepted = {"result": "case_accepted", "summary": "已受案"}
            for minutes, kind, body in (
                (10, "arrival", {"lat": None, "lon": None, "accuracy_m": None}),
                (40, "scene_report", scene),
                (90, "disposition", accepted),
            ):
                at = received + timedelta(minutes=minutes)
                await _field_op(manual, phone, incident_id, kind, at, body)
            manual.set(received + timedelta(hours=3))
            await incidents.close_incident(
                desk, incident_id, incidents.Close(summary="已受案，转办案程序")
            )
            for ago, stage in progress:
                on = today - timedelta(days=ago)
                at = datetime(on.year, on.month, on.day, 16, 0, tzinfo=SHANGHAI)
                body = {"case_number": number, "stage": stage}
                await _field_op(manual, phone, incident_id, "case_progress", at, body)
        mediator = Caller(
            person_id=people["mediator.wu"],
            name="mediator.wu",
            role="mediator",
            station_id=stations["shiqiao"],
            bureau_id=bureau_id,
            device_id="demo-mediator.wu",
        )
        for days_ago, agreement, follow_up in sorted(MEDIATIONS, reverse=True):
            day = today - timedelta(days=days_ago)
            record: dict[str, Any] = {
                "dispute_type": "邻里纠纷",
                "parties": [
                    {"name": "张某", "role": "申请人"},
                    {"name": "李某", "role": "被申请人"},
                ],
                "agreement": agreement,
                "terms": "双方达成调解协议（演示数据）",
                "follow_up_on": (
                    None if follow_up is None else (today + timedelta(days=follow_up)).isoformat()
                ),
                "mediator_ids": [people["mediator.wu"]],
                "attachments": [],
            }
            at = datetime(day.year, day.month, day.day, 15, 0, tzinfo=SHANGHAI)
            await _field_op(manual, mediator, None, "mediation_outcome", at, record)
    finally:
        use_clock(SystemClock())


_seq: dict[str, int] = {}


async def _field_op(
    manual: ManualClock,
    phone: Caller,
    incident_id: str | None,
    kind: str,
    at: datetime,
    body: dict[str, Any],
) -> None:
    manual.set(at)
    _seq[phone.device_id] = _seq.get(phone.device_id, 0) + 1
    op = {
        "op_id": time_ordered_id(),
        "seq": _seq[phone.device_id],
        "type": kind,
        "incident_id": incident_id,
        "device_time": at.isoformat(),
        "clock_offset_ms": 0,
        "body": body,
    }
    await push_ops(phone, phone.device_id, at, [msgspec.Raw(msgspec.json.encode(op))])


STATION_NAMES = {key: name for key, name, _, _ in STATIONS}
