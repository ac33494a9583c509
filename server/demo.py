"""`qingling serve --demo`: a demo county bureau to try Qingling with.

Seeded once, into an empty database. Every demo account's password is DEMO_PASSWORD;
the README lists the accounts.
"""

from __future__ import annotations

from datetime import timedelta

from server import incidents
from server.accounts import Caller
from server.admin import add_station, add_user, ensure_bureau
from server.tables import Bureau
from server.timeutil import utcnow

DEMO_PASSWORD = "qingling-demo"

STATIONS = [
    # key, name, kind, area
    ("command", "清岭县公安局指挥中心", "command_center", "urban"),
    ("chengguan", "城关派出所", "police_station", "urban"),
    ("hekou", "河口派出所", "police_station", "rural"),
    ("shiqiao", "石桥联勤警务站", "joint_service_post", "rural"),
    ("hotline", "县12345热线", "linked_agency", "urban"),
]

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
    for username, name, role, station_key in PEOPLE:
        person = await add_user(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            station=stations[station_key],
            name=name,
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
        return (await incidents.create_incident(desk, body))["id"]

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
    await incidents.close_incident(desk, done, incidents.Close(summary="老人已找到，送回家中"))
    dup = await call(30, "traffic", "rural", "S205省道石桥段", "两车刮擦，无人员受伤")
    await incidents.cancel_incident(
        desk, dup, incidents.Cancel(reason="当事人已自行协商解决，撤销警情")
    )
    return True
