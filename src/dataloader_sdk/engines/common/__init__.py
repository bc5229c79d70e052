"""What the Delta engines share: the replay-safe write template, error classification,
per-table locks, Merge preparation on Arrow rows, schema checks, predicate rendering and
dropping local tables.

Private to ``dataloader_sdk.engines``; an engine package (``delta_rs``, ``spark``) imports
from here, never from another engine package.
"""
