"""SQLAlchemy models of the warehouse contract (SPEC §7).

Downstream CRM apps read these tables; a name or meaning changes only through a migration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mdm.matching.keys import KEY_COLUMNS, VALUE_FIELDS

# Amounts are exact decimals in the warehouse, floats in Python (pandas works in floats).
Money = Numeric(18, 2, asdecimal=False)
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class CustomerFields:
    """The survived canonical fields, shared by `customer` and nothing else on purpose:
    history keeps its snapshot as JSON so the contract of `customer` can grow without
    rewriting history."""

    full_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(100))
    given_name: Mapped[str | None] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    id_type: Mapped[str | None] = mapped_column(String(16))
    id_number: Mapped[str | None] = mapped_column(String(40))
    mobile: Mapped[str | None] = mapped_column(String(32))
    phone_other: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    occupation: Mapped[str | None] = mapped_column(String(200))
    employer: Mapped[str | None] = mapped_column(String(200))
    education: Mapped[str | None] = mapped_column(String(100))
    aum_cny: Mapped[float | None] = mapped_column(Money)
    risk_level: Mapped[str | None] = mapped_column(String(2))
    risk_assessed_on: Mapped[dt.date | None] = mapped_column(Date)
    product_risk_max: Mapped[str | None] = mapped_column(String(2))
    products_held: Mapped[str | None] = mapped_column(Text)
    last_txn_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    txn_count_12m: Mapped[int | None] = mapped_column(Integer)
    txn_amount_12m_cny: Mapped[float | None] = mapped_column(Money)
    relationship_manager: Mapped[str | None] = mapped_column(String(100))
    branch_code: Mapped[str | None] = mapped_column(String(32))
    preferred_contact: Mapped[str | None] = mapped_column(String(32))
    marketing_consent: Mapped[bool | None] = mapped_column(Boolean)
    do_not_disturb: Mapped[bool | None] = mapped_column(Boolean)
    list_flag: Mapped[str | None] = mapped_column(String(8))


class Customer(CustomerFields, Base):
    """One golden record per real person."""

    __tablename__ = "customer"
    # the queue's filters by branch and relationship manager start from these
    __table_args__ = (
        Index("ix_customer_branch_code", "branch_code"),
        Index("ix_customer_relationship_manager", "relationship_manager"),
        # a search by a whole phone or ID number is an exact match (migration 0010)
        Index("ix_customer_mobile", "mobile"),
        Index("ix_customer_id_number", "id_number"),
    )

    customer_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    quality_score: Mapped[float] = mapped_column(Float)
    count_sources: Mapped[int] = mapped_column(Integer)
    # Which source record each golden field was taken from: {"mobile": "app:U123", ...}.
    field_sources: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    last_run_id: Mapped[str] = mapped_column(String(36))


class SourceRecord(Base):
    """The latest standardized form of every source record that reached the warehouse.

    Matching of later runs and the steward's side-by-side view read it; the raw row stays in
    the channel's own files.
    """

    __tablename__ = "source_record"

    source_system: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source_file: Mapped[str] = mapped_column(String(512))
    source_row: Mapped[int] = mapped_column(Integer)
    raw_hash: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    ingested_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    last_run_id: Mapped[str] = mapped_column(String(36))
    # Blocking keys and term-frequency values as hashes (mdm/matching/keys.py): internal to
    # matching, not part of the contract downstream apps read.
    match_keys: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class CustomerXref(Base):
    """Which golden customer each source record belongs to."""

    __tablename__ = "customer_xref"
    __table_args__ = (Index("ix_customer_xref_customer_id", "customer_id"),)

    source_system: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.customer_id"))
    # Probability that this record belongs with the rest of its customer (1.0 when alone).
    match_score: Mapped[float] = mapped_column(Float)
    matched_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    run_id: Mapped[str] = mapped_column(String(36))


class CustomerHistory(Base):
    """Versions of a golden record: valid_to is null for the current one."""

    __tablename__ = "customer_history"
    __table_args__ = (Index("ix_customer_history_customer_id", "customer_id", "valid_from"),)

    history_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[dt.datetime] = mapped_column(Timestamp)
    valid_to: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[str] = mapped_column(String(36))


class CustomerSegment(Base):
    """The current segment of each type for each customer."""

    __tablename__ = "customer_segment"
    __table_args__ = (Index("ix_customer_segment_type_value", "segment_type", "segment_value"),)

    customer_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    segment_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    segment_value: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    rule_version: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    # contact_frequency only: when the relationship manager should next reach out
    next_contact_due: Mapped[dt.date | None] = mapped_column(Date)


class StewardTask(Base):
    """Work for a data steward: possible_match, conflict, incomplete, invalid, compliance,
    merge_audit."""

    __tablename__ = "steward_task"
    __table_args__ = (
        Index("ix_steward_task_open", "status", "task_type", "created_at"),
        Index("ix_steward_task_queue", "status", "priority", "created_at", "task_id"),
        Index("ix_steward_task_age", "status", "created_at", "task_id"),
        Index("ix_steward_task_channel", "status", "source_system", "created_at", "task_id"),
        # customer first, so a search by name or phone starts from the few customers it finds
        Index("ix_steward_task_customer", "customer_id", "status", "created_at"),
        # the queue's first screen in one pass: by type and rule, overdue, due today (0010)
        Index("ix_steward_task_summary", "status", "task_type", "rule", "due_on"),
        Index("ix_steward_task_assigned", "status", "assigned_to", "due_on"),
        Index("ix_steward_task_due", "status", "due_on"),  # overdue and due today (0010)
    )

    task_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(
        String(12), default="open"
    )  # open | pending | resolved | dismissed
    priority: Mapped[int] = mapped_column(Integer, default=3)  # 1 highest
    # What the task is about, stable across runs, so a re-run never opens the same task twice.
    task_key: Mapped[str] = mapped_column(String(300), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(16))
    source_system: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    run_id: Mapped[str] = mapped_column(String(36))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    # what the task is about within its type, for grouping the queue: the rule that raised it
    # (risk_assessment_expired, missing_mobile …), a conflict's field, or the type itself
    rule: Mapped[str | None] = mapped_column(String(64))
    assigned_to: Mapped[str | None] = mapped_column(String(100))  # a user or a team
    due_on: Mapped[dt.date | None] = mapped_column(Date)  # from the priority when opened


class MergeAuditSample(Base):
    """A run's sample of its automatic merges (mdm/matching/audit.py): which merge_audit task
    holds each drawn pair, and its band. A pair drawn again by a later run keeps its task, so
    its verdict counts for every run that drew it; the band sizes are in pipeline_run.counts."""

    __tablename__ = "merge_audit_sample"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    band: Mapped[int] = mapped_column(Integer)


class StewardDecision(Base):
    """A steward's decision: what, about what, by whom, when, why; applied on every later run."""

    __tablename__ = "steward_decision"
    __table_args__ = (Index("ix_steward_decision_task", "task_id"),)

    decision_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(24))
    subject: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class PendingChange(Base):
    """A risky steward change waiting for a second steward (maker-checker, SPEC §5): it takes
    effect only when someone other than its maker approves it."""

    __tablename__ = "pending_change"
    __table_args__ = (Index("ix_pending_change_status", "status", "requested_at"),)

    change_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # a steward_decision action (confirm_match, split_customer, choose_value, correct_value),
    # or bulk: many decisions at once
    action: Mapped[str] = mapped_column(String(24))
    customer_id: Mapped[str | None] = mapped_column(String(16))
    task_ids: Mapped[list[int]] = mapped_column(JSON)
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the action is applied with
    needs_approval_because: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # | approved | rejected
    checked_by: Mapped[str | None] = mapped_column(String(100))
    checked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    check_reason: Mapped[str | None] = mapped_column(Text)


class Quarantine(Base):
    """A source row that could not be used, with the raw payload and every reason."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_run", "run_id"),)

    quarantine_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36))
    source_system: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str | None] = mapped_column(String(128))
    source_file: Mapped[str] = mapped_column(String(512))
    source_row: Mapped[int] = mapped_column(Integer)
    raw_payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class PipelineRun(Base):
    """One run of the pipeline: status, counts and timings of every stage."""

    __tablename__ = "pipeline_run"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))  # running | success | failed
    sources_dir: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    match_parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the weights of the pairs a threshold can move (mdm/matching/whatif.py), for what-if
    # thresholds: tens of kilobytes on a large run, so read only when asked for
    score_histogram: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    report_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class WorkbenchUser(Base):
    """A person who may sign in to the steward workbench: viewer reads, steward acts, admin
    also manages users."""

    __tablename__ = "workbench_user"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, never the password
    role: Mapped[str] = mapped_column(String(12))  # viewer | steward | admin
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class WorkbenchSession(Base):
    """A signed-in browser. Only the token's hash is kept, so a copy of this table signs no one
    in; the CSRF token is the synchronizer token every form must echo."""

    __tablename__ = "workbench_session"
    __table_args__ = (Index("ix_workbench_session_username", "username"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("workbench_user.username"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class LoginThrottle(Base):
    """Failed sign-ins of one user name or one client address (web/auth.py): after a few, sign-in
    is refused until locked_until, the right password included."""

    __tablename__ = "workbench_login_throttle"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # user | client
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    locked_until: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class CustomerSegmentHistory(Base):
    """Every move of a customer between segments: who went from gold to platinum, and when.

    old_value is null for a first assignment, new_value null when a customer leaves a campaign
    list."""

    __tablename__ = "customer_segment_history"
    __table_args__ = (
        Index("ix_customer_segment_history_type_on", "segment_type", "changed_on"),
        Index("ix_customer_segment_history_customer", "customer_id"),
    )

    history_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(16))
    segment_type: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(64))
    new_value: Mapped[str | None] = mapped_column(String(64))
    changed_on: Mapped[dt.date] = mapped_column(Date)  # the run date the rules were applied on
    changed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    rule_version: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(36))


class RmAlert(Base):
    """An alert for a relationship manager (not a steward's task): e.g. aum_change, a move of
    more than 200,000 yuan on a diamond or platinum customer [003]."""

    __tablename__ = "rm_alert"
    __table_args__ = (Index("ix_rm_alert_open", "status", "relationship_manager"),)

    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(16))
    relationship_manager: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    rule_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | acknowledged
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    run_id: Mapped[str] = mapped_column(String(36))


class CustomerRelationship(Base):
    """Two customers who are related but not one person (SPEC §4): a household (one surname
    and address), or a phone or address in common. ``customer_id`` < ``related_customer_id``;
    one row per pair, of the strongest kind its records give. ``evidence`` names the fields
    that agree, never their values."""

    __tablename__ = "customer_relationship"
    __table_args__ = (
        UniqueConstraint("customer_id", "related_customer_id", name="uq_customer_relationship"),
        Index("ix_customer_relationship_related", "related_customer_id"),
    )

    relationship_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(16))
    related_customer_id: Mapped[str] = mapped_column(String(16))
    relationship_type: Mapped[str] = mapped_column(String(16))  # household | shared_phone | …
    evidence: Mapped[list[Any]] = mapped_column(JSON)  # e.g. ["surname", "address", "mobile"]
    since: Mapped[dt.datetime] = mapped_column(Timestamp)  # when a run first found the link
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    first_seen_run_id: Mapped[str] = mapped_column(String(36))
    last_seen_run_id: Mapped[str] = mapped_column(String(36))


# Blocking keys (mdm/matching/keys.py) with an index each, but not the term-frequency values:
# an incremental run looks up the records sharing a key with its delta, never by value.
BLOCKING_KEY_COLUMNS = tuple(name for name in KEY_COLUMNS if not name.startswith("value_"))

# Each stored record's match keys as int64 columns (0: no key), one partial index per blocking
# key: an incremental run reads the records that share a key with its new ones through them,
# instead of every record's key blob (source_record.match_keys, which full runs still read).
# Internal to matching, not part of the contract downstream apps read.
record_match_key = Table(
    "record_match_key",
    Base.metadata,
    Column("source_system", String(64), primary_key=True),
    Column("source_record_id", String(128), primary_key=True),
    *(Column(name, BigInteger, nullable=False) for name in KEY_COLUMNS),
    *(
        Index(
            f"ix_record_match_key_{name}",
            name,
            sqlite_where=Column(name) != 0,
            postgresql_where=Column(name) != 0,
        )
        for name in BLOCKING_KEY_COLUMNS
    ),
)


class TermFrequency(Base):
    """How many stored records hold each value of a term-frequency field (mdm/matching/keys.py
    VALUE_FIELDS, by the value's hash), kept up to date by every run's load: an incremental run
    reads the counts of its neighbourhood's values and the sums it needs, not every record."""

    __tablename__ = "term_frequency"

    field: Mapped[str] = mapped_column(String(16), primary_key=True)
    value_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    records: Mapped[int] = mapped_column(Integer)


TERM_FREQUENCY_FIELDS = VALUE_FIELDS


class RecordMatchKey(Base):
    """`record_match_key` as a mapped class, for the load's and the reads' queries."""

    __table__ = record_match_key


class SegmentCalendar(Base):
    """The date the stored segments are as of (`name` 'segments'): the run date of the last
    full run, or the later date a calendar refresh brought them to (mdm/segments/calendar.py).
    An incremental run brings every other customer's age-driven segments to its own date."""

    __tablename__ = "segment_calendar"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
