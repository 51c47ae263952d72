"""The diary store: SQLAlchemy 2 typed models.

Times written by patients are kept as their local wall-clock time (``recorded_at``)
with the UTC offset they gave, if any, because the review is about the patient's own
days: a 23:30 entry belongs to that evening, wherever the server is.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The diary's fields (one table: ``dashboard.fields``), re-exported for the store's readers.
from dashboard.fields import DIARY_MEASURES, DIARY_TEXTS, SIDE_EFFECTS  # noqa: F401

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A diary entry with a blood-pressure reading (either number); the partial index's condition, which
# a query must repeat word for word for SQLite to use the index.
BP_RECORDED = "bp_systolic IS NOT NULL OR bp_diastolic IS NOT NULL"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ImportRecord(Base):
    """One import attempt: what came in, from whom, its outcome and the original bytes, so nothing is lost.

    Every outcome keeps a record (import-formats.md v2): ``status`` is ``imported``,
    ``already-imported``, ``nothing-to-import`` or ``refused``. Only ``imported`` records brought
    rows; the same file may have several records (one per attempt). A file sent through a share
    link waits in the clinic's inbox as ``received``, then ``accepted`` or ``rejected``.
    """

    __tablename__ = "import_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(40))
    # What else decided how the bytes were read (a --patient override, a profile name).
    scope: Mapped[str] = mapped_column(String(200), default="")
    imported_by: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    patients: Mapped[list] = mapped_column(JSON, default=list)
    patients_created: Mapped[list] = mapped_column(JSON, default=list)
    entries_added: Mapped[int] = mapped_column(Integer, default=0)
    entries_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    records_added: Mapped[dict] = mapped_column(JSON, default=dict)
    conflicts: Mapped[list] = mapped_column(JSON, default=list)
    refused_rows: Mapped[list] = mapped_column(JSON, default=list)
    ignored: Mapped[dict] = mapped_column(JSON, default=dict)
    original: Mapped[bytes] = mapped_column(LargeBinary)
    # Why a file was refused as a whole (or what the outcome means), as the report said it.
    message: Mapped[str | None] = mapped_column(Text)
    records_unchanged: Mapped[dict | None] = mapped_column(JSON, default=dict)
    # The clinic's inbox (migration 0017, issue 22): a file a patient sent through a share link is
    # kept as ``received`` for the link's patient and written into nothing until someone decides:
    # ``accepted`` (``result_import_id`` is the import it became) or ``rejected`` (``decision``
    # says why). Empty for a file a clinician or staff member imported themselves.
    share_link_id: Mapped[int | None] = mapped_column(ForeignKey("share_link.id", use_alter=True), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision: Mapped[str | None] = mapped_column(Text)
    result_import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"))


class ShareLink(Base):
    """A link that lets whoever holds it upload diary files for one patient, and nothing else
    (issue 22). Only the token's SHA-256 is kept: the token is shown once, when it is made. Usable
    until ``expires_at``, until ``uses`` reaches ``max_uses`` (None: no limit), or until revoked."""

    __tablename__ = "share_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"))
    # The full birth date when a file (or the clinic) gave one; a file giving a year alone sets
    # ``birth_year`` only (import-formats.md v3, "The file's patient"). Last, as migration 0014 adds it.
    birth_date: Mapped[date | None] = mapped_column(Date)


class PatientIdentifier(Base):
    """An identifier a file gave the patient (FHIR ``Patient.identifier``: system and value), kept
    so that the next file's identity can be checked against it (``dashboard.ingest.identity``).
    ``system`` is '' when the file gave none. A server's resource id is not kept: it names the
    patient only on that server."""

    __tablename__ = "patient_identifier"
    __table_args__ = (UniqueConstraint("patient_id", "system", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    system: Mapped[str] = mapped_column(String(300))
    value: Mapped[str] = mapped_column(String(200))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"))


class Clinician(Base):
    """A user of the dashboard (clinician, staff or admin)."""

    __tablename__ = "clinician"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Raised by every password reset; a session remembers the number it logged in with and ends
    # at its next run when they differ (``dashboard.session_state``), as it does for a disabled account.
    credential_version: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    # The clinic's lead clinician changes the clinic-wide thresholds besides the administrators
    # (``dashboard.access``); set by an administrator, audited. Only a clinician's account carries it.
    clinic_lead: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)


class LoginSession(Base):
    """A local account's login that survives a page reload (``dashboard.auth.login_sessions``).

    The browser holds a random id in a signed, HTTP-only cookie; only its SHA-256 is stored, so a
    copy of the database cannot resume anyone's session. Until the page has exchanged it, the row
    holds the hash of a one-minute, single-use hand-over code instead. The role and credential
    version the session logged in with must still be the account's at every resumption.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_until: Mapped[datetime | None] = mapped_column(DateTime)
    role: Mapped[str] = mapped_column(String(20))
    credential_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(100))


class PatientShare(Base):
    """A patient shared with a clinician: the only way a clinician sees a patient."""

    __tablename__ = "patient_share"

    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id"), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True, index=True)
    shared_at: Mapped[datetime] = mapped_column(DateTime)


class TitrationStep(Base):
    """A prescribed dose step. ``status`` 'proposed' steps (from FHIR) count only once accepted."""

    __tablename__ = "titration_step"
    __table_args__ = (UniqueConstraint("patient_id", "start_date", "route", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    dose_mg: Mapped[float] = mapped_column(Float)
    frequency: Mapped[str] = mapped_column(String(60))
    max_per_day: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"))
    # Who recorded or last changed the step on the review page, and when (None: as imported).
    changed_by: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Visit(Base):
    """A clinic visit. ``status`` 'held': it happened (every imported visit, the clinic's record);
    'booked': planned, not yet recorded as held. A booked visit whose date has passed is overdue;
    it never opens a "since the last visit" interval, because nobody saw the patient. An
    infusion's dose is an IV or IM titration step on the same day."""

    __tablename__ = "visit"
    __table_args__ = (UniqueConstraint("patient_id", "date", "kind"),
                      CheckConstraint("status IN ('held', 'booked')", name="status_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="held", default="held")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"))
    # Who recorded the visit on the review page, and when (None: as imported).
    changed_by: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)


class DiaryEntry(Base):
    """One diary entry as the patient wrote it; empty means not recorded, never 0."""

    __tablename__ = "diary_entry"
    __table_args__ = (
        UniqueConstraint("patient_id", "recorded_at"),
        # Pain and the time carried on PostgreSQL (migration 0010): the worklist's 30-day figures
        # and last diary days are index-only scans there (``worklist_queries.diary_figures``).
        Index("ix_diary_entry_patient_date", "patient_id", "diary_date", postgresql_include=["pain", "recorded_at"]),
        Index("ix_diary_entry_date", "diary_date"),
        # The days with a blood pressure, for the worklist's last reading: found by one index step
        # per patient, however long the diary (``worklist_queries.diary_figures``).
        Index("ix_diary_entry_patient_bp_date", "patient_id", "diary_date",
              sqlite_where=text(BP_RECORDED), postgresql_where=text(BP_RECORDED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    utc_offset_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    has_time: Mapped[bool] = mapped_column(Boolean, default=True)
    diary_date: Mapped[date] = mapped_column(Date)
    pain: Mapped[float | None] = mapped_column(Float)
    pain_worst: Mapped[float | None] = mapped_column(Float)
    sleep: Mapped[float | None] = mapped_column(Float)
    mood: Mapped[float | None] = mapped_column(Float)
    function: Mapped[float | None] = mapped_column(Float)
    enjoyment_interference: Mapped[float | None] = mapped_column(Float)
    activity_interference: Mapped[float | None] = mapped_column(Float)
    peg: Mapped[float | None] = mapped_column(Float)
    # The PEG pain item (LOINC 75893-8: average pain over the past week) is not the diary's
    # 24-hour pain, so it is kept apart; PEG = mean(peg_pain, enjoyment, activity).
    peg_pain: Mapped[float | None] = mapped_column(Float)
    dose_mg: Mapped[float | None] = mapped_column(Float)
    bp_systolic: Mapped[float | None] = mapped_column(Float)
    bp_diastolic: Mapped[float | None] = mapped_column(Float)
    other_medication: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"), index=True)


class SideEffect(Base):
    """Severity 0-3 (none/mild/moderate/severe), CTCAE-style grading of one effect in one entry."""

    __tablename__ = "side_effect"
    __table_args__ = (
        UniqueConstraint("entry_id", "effect"),
        Index("ix_side_effect_effect_severity", "effect", "severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("diary_entry.id", ondelete="CASCADE"))
    effect: Mapped[str] = mapped_column(String(60))
    severity: Mapped[int] = mapped_column(SmallInteger)


class CoMedication(Base):
    """Other medication: a safety concern with ketamine (opioids, benzodiazepines) and an outcome."""

    __tablename__ = "co_medication"
    __table_args__ = (UniqueConstraint("patient_id", "name", "start_date", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    rxnorm: Mapped[str | None] = mapped_column(String(20))
    drug_class: Mapped[str | None] = mapped_column(String(40))
    # None: a MedicationStatement without a date (FHIR allows it): a co-medication of unknown start.
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    # A FHIR partial date ("2015-03", "2015"; import-formats.md v3): the date above is its first day
    # and this says 'month' or 'year', so it is shown as "Mar 2015". None: the date is a day.
    start_precision: Mapped[str | None] = mapped_column(String(5))
    end_precision: Mapped[str | None] = mapped_column(String(5))
    status: Mapped[str | None] = mapped_column(String(30))
    dose_text: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"))


class Measure(Base):
    """A validated instrument's answer (PHQ-9, GAD-7, PROMIS pain, MME/day, urine drug screen) or
    another coded observation, kept as answered and never mapped onto the 0-10 pain scale
    (import-formats.md v2, section 3; codes in ``dashboard.measures``)."""

    __tablename__ = "measure"
    __table_args__ = (
        UniqueConstraint("patient_id", "system", "code", "recorded_at"),
        Index("ix_measure_patient_instrument", "patient_id", "instrument"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    instrument: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    utc_offset_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    has_time: Mapped[bool] = mapped_column(Boolean, default=True)
    value: Mapped[float | None] = mapped_column(Float)
    answer_code: Mapped[str | None] = mapped_column(String(100))
    answer_text: Mapped[str | None] = mapped_column(String(500))
    answer_position: Mapped[int | None] = mapped_column(SmallInteger)
    unit: Mapped[str | None] = mapped_column(String(60))
    # A laboratory result's reference range as the laboratory gave it (FHIR referenceRange), in ``unit``.
    reference_low: Mapped[float | None] = mapped_column(Float)
    reference_high: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(40))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_record.id"), index=True)


class MappingProfile(Base):
    """A saved column mapping for another diary app's layout."""

    __tablename__ = "mapping_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mapping: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Setting(Base):
    """A clinic setting (threshold) that differs from its default."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class FlagAcknowledgement(Base):
    """A clinician's note on one review flag: the flag stays visible but no longer counts as open.

    A flag is its patient, rule and the true start of its run (review-metrics.md, "Flags"), so a
    later run of the same rule is a new flag, and a run that grows keeps its acknowledgement.
    """

    __tablename__ = "flag_acknowledgement"
    __table_args__ = (
        UniqueConstraint("patient_id", "rule", "flag_start"),
        CheckConstraint("length(note) BETWEEN 1 AND 2000", name="note_length"),
        CheckConstraint("flag_start <= flag_end", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    flag_start: Mapped[date] = mapped_column(Date)
    # The run's end when it was acknowledged: what the clinician saw, for the record only.
    flag_end: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    acknowledged_by: Mapped[str] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime] = mapped_column(DateTime)


class ReviewSnapshot(Base):
    """The worklist's rule-engine figures of one patient as of one day (``analysis.worklist.RuleFigures``),
    computed by the one review builder and stored so that the worklist is SQL plus a join.

    A derived cache, not patient data: ``version`` hashes the patient's data version, the clinic's
    thresholds and the rules' code (``db.snapshots.version``); a snapshot whose version differs is
    stale and is computed again, so any change anywhere shows on the next run. Not audited (the
    worklist view that reads it is).
    """

    __tablename__ = "review_snapshot"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    version: Mapped[str] = mapped_column(String(64))
    figures: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class PatientRevision(Base):
    """A patient's data revision (``db.revisions``): raised by every change to what the review
    reads, in the change's transaction; the data version the review cache and the worklist's
    snapshots are keyed by. No row: revision 0 (never changed since migration 0009)."""

    __tablename__ = "patient_revision"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """Append-only audit trail; each row's hash chains to the previous row's (``dashboard.db.audit``).

    ``audit.record`` gives each id itself (last id + 1, under a lock) and keys the hash with it,
    so ids are contiguous and the id sequence of PostgreSQL's SERIAL column goes unused.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
