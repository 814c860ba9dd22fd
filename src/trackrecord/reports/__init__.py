"""Reports a recruiter reads: the monthly PDF, rebuilt byte for byte from the ledger.

``reports.monthly.build_monthly_report`` is the one entry point (the ``report`` command
and the offline bundle verifier both call it); ``record`` rebuilds the read side from
events, ``inputs`` freezes what a report needs from outside the chain, ``content`` is the
typed model, ``charts`` and ``pdf`` draw it. ReportLab is imported only on this path.
"""
