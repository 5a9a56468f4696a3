"""National systems motcua connects to (architecture.md, "Plug-in points").

One sub-package per system (identity, population register, national portal, payment),
each with:

- an interface: a small base class, and a registry of its backends (``connectors.registry``);
- a production adapter, written to the published fields, with URLs and secrets from the
  environment (settings ``MOTCUA["CONNECTORS"][<system>]``);
- a sandbox: a local HTTP service that behaves like the real system
  (``connectors.sandbox``), which the demo (``manage.py run_sandboxes``, started by
  ``make run``) and the tests talk to over real HTTP on loopback.

Calls out go through ``connectors.http`` (a timeout on every call; failures raised as
``ConnectorError`` with a reason the pages can put in plain words).
"""
