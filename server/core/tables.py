"""Piccolo tables: the command-center record.

Ids are strings (UUIDs made by the server, or by the device for ops and devices).
Times are timezone-aware UTC. The schema is changed only through migrations/core/.

    bureau ─┬─ station ── person ── device
            ├─ sla_policy
            └─ incident ─┬─ assignment        (who is sent, by the command center)
                         ├─ sla_clock         (its SLA clocks as of the last write)
                         ├─ incident_action   (the command center's lifecycle acts)
                         ├─ event             (field facts: the append-only op log)
                         ├─ rejected_op       (dead letters: refused ops, kept)
                         └─ review_item       (flags a supervisor must look at)
    blob        content-addressed attachments
    blob_holder who uploaded each blob (anyone who sent its bytes)
    blob_ref    the reference index: which accepted op names which blob, and whether
                that reference lets readers of its record read the blob
    callback_task   the callback (回访) owed to each closed incident's caller (§9)
    feedback        the citizen's verdict, one per incident (§9)
    rating_invite   QR rating invites by token hash; pending_rating: verdicts waiting for one
    public_try      public rating POSTs per client address, for their limits
    agency_duty     a linked agency's duties: keywords, categories, its deadlines (§10)
    diversion       each diversion of an incident to a linked agency, and what came of it
    supervision_order   督办 orders on incidents, their replies' outcome and clock (§11)
    notice          通报 notices to stations; rectification: what each named station owes (§11)
    case_file       an accepted case's progress (立案, 破案, 结案, 移送), kept by the write path (§11)
    board_row       each incident's board row as JSON; report_row: what the reports count of it
    change      the global change feed: every visible change gets a position
    meta        key/value facts about this database (its epoch)
    login_attempt   sign-in attempts being checked or failed, per account and address
    audit_log   the audit trail: append-only, each row chained to the one before by SHA-256

People are deactivated (`active`), never deleted: every reference to a person refuses
the delete (ON DELETE RESTRICT; on SQLite a trigger with the same effect, see
migrations/core/core_2026_11_30t12_10_00_000000.py; on PostgreSQL the event log's
reference is a trigger too, 2026-12-05T10), so their acts stay on record.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Meta(Table, tablename="qingling_meta"):
    key = Varchar(length=64, primary_key=True)
    value = Text()


class Bureau(Table, tablename="bureau"):
    id = Varchar(length=64, primary_key=True)
    name = Varchar(length=200)
    timezone = Varchar(length=64, default="Asia/Shanghai")
    created_at = Timestamptz(default=TimestamptzNow())


class Station(Table, tablename="station"):
    """A police station, branch, joint-service post, command center or linked agency."""

    id = Varchar(length=64, primary_key=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    name = Varchar(length=200)
    kind = Varchar(length=32)
    area_type = Varchar(length=16)
    created_at = Timestamptz(default=TimestamptzNow())
    # The code of the station's rating poster (`/rate/s/{rating_code}`, PROTOCOL §9):
    # random, unique (an index, see migrations), made when the station is added.
    rating_code = Varchar(length=32, null=True, default=None)


class Person(Table, tablename="person"):
    id = Varchar(length=64, primary_key=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    station = ForeignKey(Station, null=True, index=True)
    username = Varchar(length=64, unique=True)
    name = Varchar(length=200)
    role = Varchar(length=32)
    password_hash = Text()
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Device(Table, tablename="device"):
    """A phone or laptop enrolled by a person; its token is stored only as a hash."""

    id = Varchar(length=64, primary_key=True)
    person = ForeignKey(Person, null=False, index=True, on_delete=OnDelete.restrict)
    label = Varchar(length=200, default="")
    token_hash = Varchar(length=64, null=True, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    token_issued_at = Timestamptz(null=True, default=None)
    # Set when the device signs out: the token stops working (401 token_expired), the
    # device does not (it signs in again under the same id, its seq continuing).
    token_ended_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    last_seen_at = Timestamptz(null=True, default=None)
    # The largest n such that every op of this device with seq <= n is held (§3.5).
    acked_seq = BigInt(default=0)


class SlaPolicy(Table, tablename="sla_policy"):
    """Per-bureau targets; defaults from DESIGN.md (seed 000)."""

    bureau = ForeignKey(Bureau, null=False, unique=True)
    preset = Varchar(length=32, default="default")
    arrival_urban_min = Integer(default=10)
    arrival_rural_min = Integer(default=20)
    initial_result_min = Integer(default=240)
    clear_min = Integer(default=1440)
    evidence_min = Integer(default=1440)
    clock_tolerance_s = Integer(default=60)
    # "dispatch" or "receipt": what the arrival clock runs from (server/record/policy.py presets).
    arrival_from = Varchar(length=16, default="dispatch")
    # Minutes from receipt to dispatch, when the policy clocks it (Zhoushan "1358": 1).
    dispatch_min = Integer(null=True, default=None)
    # Hours from an incident's close to its callback's due time (PROTOCOL §9).
    callback_hours = Integer(default=72)


class Incident(Table, tablename="incident"):
    id = Varchar(length=64, primary_key=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    number = Varchar(length=32, index=True)
    category = Varchar(length=32)
    area_type = Varchar(length=16)
    address = Text()
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    caller_name = Text(default="")
    caller_phone = Varchar(length=64, default="")
    narrative = Text()
    received_at = Timestamptz()
    received_back_entered = Boolean(default=False)
    status = Varchar(length=16, index=True)
    station = ForeignKey(Station, null=True, index=True)
    dispatched_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    close_summary = Text(default="")
    cancel_reason = Text(default="")
    created_by = ForeignKey(Person, null=True, on_delete=OnDelete.restrict)
    # The caller may be endangered by a call back (e.g. domestic violence): closing opens
    # no callback task (PROTOCOL §9).
    no_callback = Boolean(default=False)
    # 三反馈 all in (PROTOCOL §11: a valid arrival, scene report and disposition), as the
    # fold found it at the incident's last publish (server/write/publish.py): the reports
    # count it from here.
    feedbacks_complete = Boolean(default=False)
    version = Integer(default=1)
    updated_at = Timestamptz(default=TimestamptzNow())


class SlaClock(Table, tablename="sla_clock"):
    """An incident's SLA clock as of its last write (server/write/publish.py keeps it in the
    same transaction as the write). `watch_at` is the due time of a clock the scheduler
    must still turn overdue (running, unmet, incident open, not yet fired); NULL
    otherwise, so the scheduler's next wake-up is one indexed MIN()."""

    id = Varchar(length=100, primary_key=True)  # "<incident_id>:<clock name>"
    incident = ForeignKey(Incident, null=False, index=True)
    bureau = ForeignKey(Bureau, null=False)
    name = Varchar(length=32)
    due_at = Timestamptz(null=True, default=None)
    met_at = Timestamptz(null=True, default=None)
    watch_at = Timestamptz(null=True, default=None, index=True)


class Assignment(Table, tablename="assignment"):
    """A person sent to an incident; ended_at is set when reassigned away."""

    id = Varchar(length=64, primary_key=True)
    incident = ForeignKey(Incident, null=False, index=True)
    person = ForeignKey(Person, null=False, index=True, on_delete=OnDelete.restrict)
    station = ForeignKey(Station, null=False)
    assigned_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)


class IncidentAction(Table, tablename="incident_action"):
    """A command-center act on an incident: created, dispatched, reassigned, cancelled, closed."""

    id = Varchar(length=64, primary_key=True)
    incident = ForeignKey(Incident, null=False, index=True)
    action = Varchar(length=32)
    person = ForeignKey(Person, null=True, on_delete=OnDelete.restrict)
    effective_time = Timestamptz()
    recorded_at = Timestamptz()
    back_entered = Boolean(default=False)
    detail = JSON(default="{}")


class Event(Table, tablename="event"):
    """A field fact (an op) as stored: append-only, filled by the sync protocol."""

    op_id = Varchar(length=64, primary_key=True)
    # On PostgreSQL, `bureau`, `incident`, `station` and `person` are plain columns:
    # migrations 2026-12-04T10 and 2026-12-05T10 dropped their foreign keys (a check per
    # row, most of the insert's time); a trigger on person refuses deleting one named here.
    # Looked up through the (incident, type) and (device_id, seq) indexes
    # (migrations/core: 2026-11-23 made them, 2026-12-02T12 dropped the one-column ones);
    # by bureau only for its body-camera clips (`event_bodycam`, 2026-12-03T10). Partial
    # indexes (record_id, evidence_key: of the rows that have one) are the migrations'.
    incident = ForeignKey(Incident, null=True)
    bureau = ForeignKey(Bureau, null=False)
    device_id = Varchar(length=64)
    person = ForeignKey(Person, null=False, on_delete=OnDelete.restrict)
    seq = BigInt()
    type = Varchar(length=32)
    record_id = Varchar(length=64, null=True, default=None)
    base_op_id = Varchar(length=64, null=True, default=None)
    body = JSON(default="{}")
    content_hash = Varchar(length=64)
    device_time = Timestamptz(null=True, default=None)
    clock_offset_ms = BigInt(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    received_at = Timestamptz()
    effective_time = Timestamptz(null=True, default=None)
    flags = JSON(default="[]")
    # A supervisor's resolution merges several heads: their op_ids.
    parents = JSON(default="[]")
    # The sender's station when it arrived: the scope of a standalone mediation case.
    station = ForeignKey(Station, null=True)
    # The server's (received_at - sent_at) estimate for the request that carried it.
    server_offset_ms = BigInt(null=True, default=None)
    # "camera_serial\x1fclip_id" for body-camera references: finds the same clip elsewhere.
    evidence_key = Varchar(length=450, null=True, default=None)
    # The latest effective time among the ops its device recorded before it (lower seq),
    # kept by the write path as ops arrive in any order (server/write/ingest.py): an op
    # stamped well before it is `clock_suspect` (sync.rules.device_high_water).
    device_high_water = Timestamptz(null=True, default=None)


class RejectedOp(Table, tablename="rejected_op"):
    """A dead letter: an op the server refused, kept so it is never silently dropped."""

    id = Varchar(length=64, primary_key=True)
    op_id = Varchar(length=64, null=True, index=True)
    # Looked up by device, and by device and seq: index (device_id, seq), migration
    # 2026-12-04T12.
    device_id = Varchar(length=64)
    seq = BigInt(null=True, default=None)
    bureau = ForeignKey(Bureau, null=False, index=True)
    person = ForeignKey(Person, null=False, on_delete=OnDelete.restrict)
    station = ForeignKey(Station, null=True)
    code = Varchar(length=32)
    message = Text()
    content_hash = Varchar(length=64, null=True, default=None)
    op = Text()
    received_at = Timestamptz()


class Blob(Table, tablename="blob"):
    """A content-addressed attachment (§8): a photo of a signed agreement, a scene photo."""

    sha256 = Varchar(length=64, primary_key=True)
    data = Bytea()
    size = BigInt()
    content_type = Varchar(length=100, default="application/octet-stream")
    uploaded_by = ForeignKey(Person, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class BlobHolder(Table, tablename="blob_holder"):
    """A person who sent a blob's bytes (PUT /api/blobs/{sha256}), first or again: having
    the bytes, they may read them back, and their references to it grant."""

    id = Varchar(length=140, primary_key=True)  # "<sha256>:<person>"
    sha256 = Varchar(length=64)
    person = Varchar(length=64)
    uploaded_at = Timestamptz()


class BlobRef(Table, tablename="blob_ref"):
    """The reference index (PROTOCOL §12 "Blobs by reference only"): one row per blob an
    accepted op names in `attachments` or `evidence_item.sha256`, written by the write path
    in the transaction that stores the op. `granted`: its author could read the blob (or
    had uploaded it) when the op was accepted, or uploaded it since; only a granted
    reference lets the readers of its incident (or mediation case) read the blob.
    Plain columns, no foreign keys: the index is derived from the events."""

    id = Varchar(length=140, primary_key=True)  # "<op_id>:<sha256>"
    sha256 = Varchar(length=64, index=True)
    op_id = Varchar(length=64)
    bureau = Varchar(length=64)
    # The incident the op belongs to; NULL for a standalone mediation case, whose scope is
    # `station` (the case's station).
    incident = Varchar(length=64, null=True, default=None)
    station = Varchar(length=64, null=True, default=None)
    person = Varchar(length=64)  # the op's author
    granted = Boolean(default=False)
    accepted_at = Timestamptz()


class ReviewItem(Table, tablename="review_item"):
    id = Varchar(length=64, primary_key=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    incident = ForeignKey(Incident, null=True, index=True)
    kind = Varchar(length=32)
    clock = Varchar(length=32, null=True, default=None)
    op_id = Varchar(length=64, null=True, default=None)
    record_id = Varchar(length=64, null=True, default=None, index=True)
    state = Varchar(length=16, default="open")
    detail = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = ForeignKey(Person, null=True, on_delete=OnDelete.restrict)
    note = Text(default="")
    # Items that must exist at most once (an overdue clock: "overdue:<incident>:<clock>"):
    # the unique key makes their insert idempotent across processes and restarts.
    once_key = Varchar(length=120, null=True, default=None)  # unique: an index, see migrations
    # The station the item belongs to (its incident's at the time, a mediation case's, or
    # the station owing a rectification): a station chief's desk lists their own.
    station = Varchar(length=64, null=True, default=None, index=True)


class CallbackTask(Table, tablename="callback_task"):
    """A callback (回访) owed to the caller of a closed incident (PROTOCOL §9): one per
    incident, `id` = the incident's id. `state` is `due`, `done` (a verdict came, by this
    callback or by QR or poster) or `unreachable` (the third unanswered attempt).
    `attempts`: [{"at", "reached", "by"}], oldest first."""

    id = Varchar(length=64, primary_key=True)
    incident = ForeignKey(Incident, null=False, unique=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    station = ForeignKey(Station, null=True, index=True)
    closed_at = Timestamptz()
    due_at = Timestamptz()
    state = Varchar(length=16, default="due", index=True)
    attempts = JSON(default="[]")
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class Feedback(Table, tablename="feedback"):
    """The citizen's verdict on an incident (PROTOCOL §9), whichever way it came:
    `source` is `callback`, `qr` or `poster`. One per incident: `id` = the incident's id,
    so a second verdict cannot be stored whatever the race. The five levels are
    `satisfied`, `basically_satisfied` or `unsatisfied`."""

    id = Varchar(length=64, primary_key=True)
    incident = ForeignKey(Incident, null=False, unique=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    source = Varchar(length=16)
    at = Timestamptz()
    reception = Varchar(length=24)
    timeliness = Varchar(length=24)
    conduct = Varchar(length=24)
    handling = Varchar(length=24)
    overall = Varchar(length=24)
    comment = Text(default="")
    # Who recorded it (a person id): the dispatcher for a callback; null for a citizen's
    # own rating. A plain column, like the audit log's actor.
    person = Varchar(length=64, null=True, default=None)
    # The invite's token hash for a QR verdict.
    token_sha256 = Varchar(length=64, null=True, default=None)


class RatingInvite(Table, tablename="rating_invite"):
    """A QR rating invite (PROTOCOL §9): the `rating_invite` op's token hash, indexed by
    the write path when the op is applied. The first invite of a token wins; the invite
    expires 7 days after the op's effective time."""

    token_sha256 = Varchar(length=64, primary_key=True)
    incident = ForeignKey(Incident, null=False, index=True)
    bureau = ForeignKey(Bureau, null=False)
    op_id = Varchar(length=64)
    effective_time = Timestamptz()
    expires_at = Timestamptz()


class PendingRating(Table, tablename="pending_rating"):
    """A citizen's verdict for a token whose invite has not reached the server yet
    (answered 202): kept until `expires_at` (7 days after receipt) and counted, once,
    when the invite arrives. The first verdict for a token is kept."""

    token_sha256 = Varchar(length=64, primary_key=True)
    verdict = JSON(default="{}")
    received_at = Timestamptz()
    expires_at = Timestamptz(index=True)


class PublicTry(Table, tablename="public_try"):
    """A public (unauthenticated) rating POST from one client address, for the limits of
    PROTOCOL §9: `kind` is `post` (every POST to a token) or `miss` (a poster POST that
    matched no incident). Indexed by (address, kind, at); rows older than an hour are
    purged."""

    id = Varchar(length=64, primary_key=True)
    address = Varchar(length=64)
    kind = Varchar(length=8)
    at = Timestamptz()


class AgencyDuty(Table, tablename="agency_duty"):
    """A linked agency's duties (PROTOCOL §10, the bureau's responsibility list): one row
    per agency station, `id` = the station's id. `keywords` and `categories` are JSON
    lists of text."""

    id = Varchar(length=64, primary_key=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    keywords = JSON(default="[]")
    categories = JSON(default="[]")
    ack_minutes = Integer(default=30)
    feedback_hours = Integer(default=24)
    updated_at = Timestamptz()
    updated_by = Varchar(length=64, null=True, default=None)


class Diversion(Table, tablename="diversion"):
    """One diversion of an incident to a linked agency (PROTOCOL §10). The first columns
    are the command center's act; `acknowledged_at` to `returned_at` are what the agency's
    events made of it, rewritten with every publish of the incident (like `sla_clock`),
    so reports read one table."""

    id = Varchar(length=64, primary_key=True)
    incident = ForeignKey(Incident, null=False, index=True)
    bureau = ForeignKey(Bureau, null=False)
    agency = ForeignKey(Station, null=False, index=True)
    diverted_at = Timestamptz()
    diverted_by = Varchar(length=64, null=True, default=None)
    instructions = Text(default="")
    person_ids = JSON(default="[]")
    ack_due_at = Timestamptz()
    feedback_due_at = Timestamptz()
    acknowledged_at = Timestamptz(null=True, default=None)
    fed_back_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=16, null=True, default=None)
    feedback_op_id = Varchar(length=64, null=True, default=None)
    returned_at = Timestamptz(null=True, default=None)


class SupervisionOrder(Table, tablename="supervision_order"):
    """A supervision order (督办, PROTOCOL §11) on an incident, addressed to the station
    the incident was at when the order was issued. `level` is `station` or `bureau`
    (挂牌督办). `state`: `open` (no reply awaiting a decision), `answered` (a reply
    awaits the supervisor), `accepted` (closed; `met_at` is the accepted reply's effective
    time). A rejection reopens it; `rejections` is [{"reason", "by", "at", "reply_op_ids"}],
    the replies each rejection turned down. Replies are `supervision_reply` events of the
    incident; `reply_op_id` is the one awaiting a decision (the latest not rejected).
    `watch_at`: the due time while the scheduler must still turn the order overdue."""

    id = Varchar(length=64, primary_key=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    incident = ForeignKey(Incident, null=False, index=True)
    station = ForeignKey(Station, null=False, index=True)
    level = Varchar(length=16)
    instructions = Text(default="")
    due_at = Timestamptz()
    issued_by = Varchar(length=64)
    issued_at = Timestamptz()
    state = Varchar(length=16, default="open", index=True)
    reply_op_id = Varchar(length=64, null=True, default=None)
    accepted_op_id = Varchar(length=64, null=True, default=None)
    accepted_at = Timestamptz(null=True, default=None)
    accepted_by = Varchar(length=64, null=True, default=None)
    met_at = Timestamptz(null=True, default=None)
    rejections = JSON(default="[]")
    watch_at = Timestamptz(null=True, default=None, index=True)
    updated_at = Timestamptz()


class Notice(Table, tablename="notice"):
    """A notice (通报, PROTOCOL §11) from the command center to one or more stations:
    `kind` is `criticism`, `commendation` or `briefing`; `station_ids` and `incident_ids`
    are JSON lists. With `rectify_by`, each named station owes a rectification
    (`rectification` rows)."""

    id = Varchar(length=64, primary_key=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    kind = Varchar(length=16)
    text = Text()
    station_ids = JSON(default="[]")
    incident_ids = JSON(default="[]")
    rectify_by = Timestamptz(null=True, default=None)
    issued_by = Varchar(length=64)
    issued_at = Timestamptz()


class Rectification(Table, tablename="rectification"):
    """What one station owes on a notice with `rectify_by` (整改): `id` is
    "<notice id>:<station id>". `state` is `owed`, `done` (a `rectification` op of the
    station's chief is in; `done_at` is the earliest one's effective time, `op_id` that op)
    or `overdue` (none by `due_at`). `watch_at`: `due_at` while the scheduler must still
    turn it overdue."""

    id = Varchar(length=140, primary_key=True)
    notice = ForeignKey(Notice, null=False, index=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    station = ForeignKey(Station, null=False, index=True)
    due_at = Timestamptz()
    state = Varchar(length=16, default="owed")
    done_at = Timestamptz(null=True, default=None)
    op_id = Varchar(length=64, null=True, default=None)
    watch_at = Timestamptz(null=True, default=None, index=True)


class CaseFile(Table, tablename="case_file"):
    """An incident's case (立案, PROTOCOL §11), as the fold of its events made it: written
    by the write path with every publish of the incident (like `sla_clock`), for the
    reports. `id` = the incident's id. `accepted`: it has a valid `case_accepted`
    disposition (only then is it a case); `stages` is [{"stage", "at", "op_id"}] in
    effective-time order, every valid `case_progress`; `stage` the latest one's; `filed_at`
    the first one's effective time; `solved_at` the first `solved`; `ended_at` when the
    latest stage became `closed` or `transferred` (null while it is neither)."""

    id = Varchar(length=64, primary_key=True)
    incident = ForeignKey(Incident, null=False, unique=True)
    bureau = ForeignKey(Bureau, null=False, index=True)
    station = ForeignKey(Station, null=True, index=True)
    accepted = Boolean(default=False)
    accepted_at = Timestamptz(null=True, default=None)
    case_number = Varchar(length=64, null=True, default=None)
    stage = Varchar(length=16, null=True, default=None)
    filed_at = Timestamptz(null=True, default=None)
    solved_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    stages = JSON(default="[]")


class Change(Table, tablename="change"):
    """Positions in the global change feed: one, or a run of one incident's `event`
    changes written together (server/write/feed.py). Scope columns say who may read it:
    the feed is read by position, through (bureau, position) where a database holds
    several bureaus; never by incident (migration 2026-12-03T10 dropped that index). On
    PostgreSQL its scope columns have no foreign keys (migration 2026-12-04T10)."""

    # The last position the row holds; it holds `span` of them, `pos - span + 1` to `pos`.
    pos = BigSerial(primary_key=True)
    span = Integer(default=1)
    entity = Varchar(length=32)
    entity_id = Varchar(length=64)
    bureau = ForeignKey(Bureau, null=False, index=True)
    station = ForeignKey(Station, null=True)
    incident = ForeignKey(Incident, null=True)
    # JSON the write path encoded; on PostgreSQL a text column (lz4) since migration
    # 2026-12-07T10: nothing reads inside it there, and parsing each run's ~48 KB to
    # check it cost more than storing it.
    data = JSON(default="{}")
    committed_at = Timestamptz(default=TimestamptzNow())


class LoginAttempt(Table, tablename="login_attempt"):
    """A sign-in attempt for one account from one client address (server/access/login_limits.py).

    `pending` while its password is being checked (it counts as a failure until settled,
    so parallel attempts cannot all pass the limit), then `failed` or `ok`. `at` is when
    it last changed. Rows older than the longest window are purged. Indexed by
    (username, address, at), (address, at) and (at) (migration 2026-11-30T10:00:00).
    """

    id = Varchar(length=64, primary_key=True)
    username = Varchar(length=64)
    address = Varchar(length=64)
    outcome = Varchar(length=8)
    at = Timestamptz()


class AuditLog(Table, tablename="audit_log"):
    """The audit trail (server/core/audit.py): who signed in, revoked, read caller data
    in full, or acted on an incident. Append-only; `row_hash` is the SHA-256 of the row's
    content and `prev_hash`, the previous row's `row_hash`. No foreign keys: the log
    outlives what it names, and a reference must never delete or block it."""

    seq = BigInt(primary_key=True)  # 1, 2, 3 ... with no gap
    at = Timestamptz()
    actor = Varchar(length=64, null=True, default=None)  # a person id
    device = Varchar(length=64, null=True, default=None)
    action = Varchar(length=40)
    subject = Varchar(length=200, null=True, default=None)  # an incident, device, username
    detail = Text(default="")  # canonical JSON, hashed as stored
    prev_hash = Varchar(length=64)
    row_hash = Varchar(length=64)


class BoardRowStore(Table, tablename="board_row"):
    """Each incident's board row (sync.views `BoardRow`, GET /api/board) as JSON, written
    by the write path with every publish of the incident (like `sla_clock`), so the board
    reads 10,000 rows as stored text instead of building them. `id` = the incident's id;
    no foreign key (a row is only ever read joined to its incident)."""

    id = Varchar(length=64, primary_key=True)
    data = Text()


class ReportRow(Table, tablename="report_row"):
    """What the reports count of one incident (server/services/reports.py): its station,
    category, status and times as the incident row has them, its arrival, initial-result
    and clear clocks as `sla_clock` has them, 三反馈, the citizen's verdict and the
    callback task's state. Written with the clocks by every write that stores them, and
    with the callback task (server/write/report_rows.py); on
    SQLite clustered by `(bureau, received_at, id)`, so a period is one range read (see
    migrations/core/core_2026_12_02t10_00_00_000000.py). `id` = the incident's id; no
    foreign keys (a derived copy, like `board_row`)."""

    id = Varchar(length=64, primary_key=True)
    bureau = Varchar(length=64)
    received_at = Timestamptz()
    number = Varchar(length=32)
    station = Varchar(length=64, null=True, default=None)
    category = Varchar(length=32)
    status = Varchar(length=16)
    dispatched_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    feedbacks_complete = Boolean(default=False)
    arrival_due_at = Timestamptz(null=True, default=None)
    arrival_met_at = Timestamptz(null=True, default=None)
    # From dispatch to arrival in whole microseconds (the percentiles rank these).
    arrival_span_us = BigInt(null=True, default=None)
    initial_due_at = Timestamptz(null=True, default=None)
    initial_met_at = Timestamptz(null=True, default=None)
    clear_due_at = Timestamptz(null=True, default=None)
    overall = Varchar(length=24, null=True, default=None)
    reception = Varchar(length=24, null=True, default=None)
    timeliness = Varchar(length=24, null=True, default=None)
    conduct = Varchar(length=24, null=True, default=None)
    handling = Varchar(length=24, null=True, default=None)
    # The callback task's state (PROTOCOL §9), null when there is none.
    callback_state = Varchar(length=16, null=True, default=None)


ALL_TABLES: list[type[Table]] = [
    Meta,
    Bureau,
    Station,
    Person,
    Device,
    SlaPolicy,
    Incident,
    SlaClock,
    Assignment,
    IncidentAction,
    Event,
    RejectedOp,
    Blob,
    BlobHolder,
    BlobRef,
    ReviewItem,
    Change,
    LoginAttempt,
    AuditLog,
    CallbackTask,
    Feedback,
    RatingInvite,
    PendingRating,
    PublicTry,
    AgencyDuty,
    Diversion,
    SupervisionOrder,
    Notice,
    Rectification,
    CaseFile,
    BoardRowStore,
    ReportRow,
]
