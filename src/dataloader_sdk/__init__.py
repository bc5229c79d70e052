"""dataloader-sdk: copy source tables into Delta Lake bronze tables, driven by a control DB.

The public API lives here; everything else is an implementation module. The names are
listed once, in ``__init__.pyi``, and imported lazily (PEP 562, ``_lazy.py``) so
``import dataloader_sdk`` stays cheap and imports no driver, no Spark and no SQLAlchemy
engine.
"""

from __future__ import annotations

from dataloader_sdk._lazy import attach_stub

__version__ = "0.1.0"

_EXPORTS = attach_stub(__name__, __file__, extra=("__version__",))
__getattr__, __dir__, __all__ = _EXPORTS.attach(globals())
