"""Implementation of the ``dataloader`` command (see :mod:`dataloader_sdk.cli`).

Private: the command line is the interface, these modules are not. Each module imports the
SDK's heavier parts (SQLAlchemy, pyarrow, deltalake) inside the commands that need them, so
``dataloader --help`` stays fast.
"""
