"""The head schema of a SQLite ledger as the migrations leave it (``sqlite_master``, in
creation order): a new, empty database gets it without importing alembic (~0.12 s of
every process that creates one: a backtest, a grid trial, ``init``, the demo).

Generated from a database migrated to ``REVISION``; a test holds it equal to what the
migrations create. When a migration is added, regenerate it (the test prints how).
"""

from __future__ import annotations

REVISION = "0003"

STATEMENTS: tuple[str, ...] = (
    'CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)',
    'CREATE TABLE events (\n\tseq INTEGER NOT NULL, \n\trecorded_at VARCHAR(32) NOT NULL, \n\tkind VARCHAR(64) NOT NULL, \n\tpayload TEXT NOT NULL, \n\tprev_hash VARCHAR(64) NOT NULL, \n\thash VARCHAR(64) NOT NULL, \n\tPRIMARY KEY (seq), \n\tUNIQUE (hash)\n)',
    'CREATE INDEX ix_events_kind ON events (kind)',
    'CREATE TABLE cashflows (\n\tseq INTEGER NOT NULL, \n\tflow_date VARCHAR(10) NOT NULL, \n\tamount VARCHAR(40) NOT NULL, \n\tcurrency VARCHAR(3) NOT NULL, \n\tnote TEXT NOT NULL, account_id VARCHAR(32), date_given VARCHAR(10), voided_by INTEGER, \n\tPRIMARY KEY (seq)\n)',
    'CREATE INDEX ix_cashflows_flow_date ON cashflows (flow_date)',
    'CREATE TABLE snapshots (\n\taccount_id VARCHAR(32) NOT NULL, \n\tsession_date VARCHAR(10) NOT NULL, \n\tseq INTEGER NOT NULL, \n\ttaken_at VARCHAR(32) NOT NULL, \n\tbase_currency VARCHAR(3) NOT NULL, \n\tnav VARCHAR(40) NOT NULL, \n\tcash VARCHAR(40), \n\tis_paper BOOLEAN NOT NULL, \n\tsimulated BOOLEAN NOT NULL, \n\tpositions TEXT NOT NULL, \n\tPRIMARY KEY (account_id, session_date)\n)',
    'CREATE TABLE fills (\n\texec_id VARCHAR(64) NOT NULL, \n\tseq INTEGER NOT NULL, \n\taccount_id VARCHAR(32) NOT NULL, \n\torder_ref VARCHAR(96) NOT NULL, \n\tsymbol VARCHAR(32) NOT NULL, \n\tside VARCHAR(4) NOT NULL, \n\tquantity VARCHAR(40) NOT NULL, \n\tprice VARCHAR(40) NOT NULL, \n\tcurrency VARCHAR(3) NOT NULL, \n\texecuted_at VARCHAR(32) NOT NULL, \n\tcommission VARCHAR(40), \n\tcommission_currency VARCHAR(3), \n\tintended_price VARCHAR(40), \n\torder_type VARCHAR(8), \n\tsupersedes VARCHAR(64), \n\tsuperseded_by VARCHAR(64), \n\tsimulated BOOLEAN NOT NULL, \n\tPRIMARY KEY (exec_id)\n)',
    'CREATE INDEX ix_fills_order_ref ON fills (order_ref)',
    'CREATE INDEX ix_fills_executed_at ON fills (executed_at)',
    'CREATE TABLE orders (\n\torder_ref VARCHAR(96) NOT NULL, \n\tplan_id VARCHAR(96) NOT NULL, \n\tmode VARCHAR(16) NOT NULL, \n\tsymbol VARCHAR(32) NOT NULL, \n\tside VARCHAR(4) NOT NULL, \n\tquantity VARCHAR(40) NOT NULL, \n\torder_type VARCHAR(8) NOT NULL, \n\tintended_price VARCHAR(40) NOT NULL, \n\tcurrency VARCHAR(3) NOT NULL, \n\tstatus VARCHAR(24) NOT NULL, \n\tbroker_order_id VARCHAR(64), \n\tmessage TEXT NOT NULL, \n\tlast_seq INTEGER NOT NULL, \n\tPRIMARY KEY (order_ref)\n)',
    'CREATE INDEX ix_orders_plan_id ON orders (plan_id)',
    'CREATE TABLE imports (\n\tcontent_hash VARCHAR(64) NOT NULL, \n\tkind VARCHAR(32) NOT NULL, \n\tsource TEXT NOT NULL, \n\trows INTEGER NOT NULL, \n\tseq INTEGER NOT NULL, \n\tPRIMARY KEY (content_hash)\n)',
    'CREATE TABLE kill_switch (\n\tid INTEGER NOT NULL, \n\tstate VARCHAR(16) NOT NULL, \n\treason TEXT NOT NULL, \n\tchanged_at VARCHAR(32) NOT NULL, \n\tseq INTEGER NOT NULL, \n\tPRIMARY KEY (id)\n)',
    'CREATE TABLE checkpoints (\n\tseq INTEGER NOT NULL, \n\thead_seq INTEGER NOT NULL, \n\thead_hash VARCHAR(64) NOT NULL, \n\tpublic_key VARCHAR(64) NOT NULL, \n\tsignature VARCHAR(128) NOT NULL, \n\tPRIMARY KEY (seq)\n)',
    'CREATE TABLE prices (\n\tsymbol VARCHAR(32) NOT NULL, \n\tsession_date VARCHAR(10) NOT NULL, \n\tclose FLOAT, \n\tadj_close FLOAT NOT NULL, \n\tsource VARCHAR(32) NOT NULL, \n\tfetched_at VARCHAR(32) NOT NULL, \n\tPRIMARY KEY (symbol, session_date)\n)',
    'CREATE TABLE sim_orders (\n\tbroker_order_id INTEGER NOT NULL, \n\taccount_id VARCHAR(32) NOT NULL, \n\torder_ref VARCHAR(96) NOT NULL, \n\tsymbol VARCHAR(32) NOT NULL, \n\tside VARCHAR(4) NOT NULL, \n\tquantity VARCHAR(40) NOT NULL, \n\torder_type VARCHAR(8) NOT NULL, \n\tlimit_price VARCHAR(40), \n\tcurrency VARCHAR(3) NOT NULL, \n\tstatus VARCHAR(24) NOT NULL, \n\tplaced_at VARCHAR(32) NOT NULL, \n\tmessage TEXT NOT NULL, \n\tPRIMARY KEY (broker_order_id), \n\tCONSTRAINT uq_sim_orders_ref UNIQUE (account_id, order_ref)\n)',
    'CREATE TABLE sim_executions (\n\texec_id VARCHAR(64) NOT NULL, \n\taccount_id VARCHAR(32) NOT NULL, \n\tbroker_order_id INTEGER NOT NULL, \n\torder_ref VARCHAR(96) NOT NULL, \n\tsymbol VARCHAR(32) NOT NULL, \n\tside VARCHAR(4) NOT NULL, \n\tquantity VARCHAR(40) NOT NULL, \n\tprice VARCHAR(40) NOT NULL, \n\tcurrency VARCHAR(3) NOT NULL, \n\tcommission VARCHAR(40) NOT NULL, \n\texecuted_at VARCHAR(32) NOT NULL, \n\tPRIMARY KEY (exec_id)\n)',
    'CREATE INDEX ix_sim_executions_executed_at ON sim_executions (executed_at)',
    'CREATE TABLE sim_cash (\n\tid INTEGER NOT NULL, \n\taccount_id VARCHAR(32) NOT NULL, \n\tamount VARCHAR(40) NOT NULL, \n\tbooked_at VARCHAR(32) NOT NULL, \n\tnote TEXT NOT NULL, flow_key VARCHAR(32), \n\tPRIMARY KEY (id)\n)',
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END",
    'CREATE TABLE plans (\n\tplan_id VARCHAR(96) NOT NULL, \n\tmode VARCHAR(16) NOT NULL, \n\tseq INTEGER NOT NULL, \n\trisk_seq INTEGER, \n\tapproved BOOLEAN, \n\tPRIMARY KEY (plan_id, mode)\n)',
    'CREATE INDEX ix_cashflows_account_id ON cashflows (account_id)',
    'CREATE UNIQUE INDEX ux_sim_cash_flow_key ON sim_cash (account_id, flow_key)',
)
