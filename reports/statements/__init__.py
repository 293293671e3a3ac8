"""Statements and the cluster report: data built from a finished run's snapshot, PDF
rendering, publishing, archives (ZIP) and corrections (korekta).

Reads ``reports.settlement.snapshot`` only; never recomputes what the run computed.
"""
