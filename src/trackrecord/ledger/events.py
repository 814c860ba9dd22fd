"""Event kinds: facts in the past tense, one name each."""

from __future__ import annotations

WORKSPACE_CREATED = "workspace.created"
CASHFLOW_RECORDED = "cashflow.recorded"
IMPORT_RECORDED = "import.recorded"
SNAPSHOT_RECORDED = "snapshot.recorded"
FILL_RECORDED = "fill.recorded"
COMMISSION_RECORDED = "commission.recorded"
PRICES_UPDATED = "prices.updated"
QUALITY_CHECKED = "quality.checked"
SIGNAL_COMPUTED = "signal.computed"
PLAN_CREATED = "plan.created"
RISK_DECIDED = "risk.decided"
ORDER_SUBMITTED = "order.submitted"
ORDER_STATUS = "order.status_changed"
ORDER_DENIED = "order.denied"
KILL_SWITCH_CHANGED = "kill_switch.changed"
CHECKPOINT_SIGNED = "checkpoint.signed"
ANNOTATION_ADDED = "annotation.added"
RUN_STARTED = "run.started"
RUN_FINISHED = "run.finished"

ALL_KINDS = (
    WORKSPACE_CREATED, CASHFLOW_RECORDED, IMPORT_RECORDED, SNAPSHOT_RECORDED, FILL_RECORDED,
    COMMISSION_RECORDED, PRICES_UPDATED, QUALITY_CHECKED, SIGNAL_COMPUTED, PLAN_CREATED,
    RISK_DECIDED, ORDER_SUBMITTED, ORDER_STATUS, ORDER_DENIED, KILL_SWITCH_CHANGED,
    CHECKPOINT_SIGNED, ANNOTATION_ADDED, RUN_STARTED, RUN_FINISHED,
)
