"""Scheduler integrations built on :mod:`dataloader_sdk.orchestration` (optional extras).

Each subpackage is a thin shim: it turns the adapter's plain functions into a
scheduler's objects and holds no business logic. Importing :mod:`dataloader_sdk` never
imports any of them.
"""
