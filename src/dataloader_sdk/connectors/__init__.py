"""Source connectors: one module per database type plus the shared base.

Connector modules import their drivers lazily; importing this package imports none.
"""
