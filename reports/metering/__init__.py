"""Meter data: the store (the data-access layer for hourly/15-minute readings), the file
parsers, the import service and its task, and the selectors that read the store.

Nothing here knows about money: settlement reads measured energy through
``reports.metering.selectors``.
"""
