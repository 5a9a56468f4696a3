"""The national population register (Cơ sở dữ liệu quốc gia về dân cư): prefill (#15 item 2).

- ``base``: what a look-up gives (``Person``), the backend interface and its registry
  (``MOTCUA["CONNECTORS"]["population"]``);
- ``national``: the production adapter, the register's wire names in one place;
- ``sandbox``: the local register the demo and the tests talk to;
- ``models``: the record of every look-up (who, when, which ID number, which dossier,
  outcome), read-only in the admin;
- ``services``: the look-up as the portal asks for it, the form values it gives by the
  procedure's ``prefill:`` keys, and the server-side guard of read-only prefilled fields.
"""
