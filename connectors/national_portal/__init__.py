"""Status sync to the national public service portal (Cổng Dịch vụ công quốc gia).

- ``models``: each dossier's sync state and each pushed step (``PortalPush``);
- ``sync``: the services: steps written in the change's own transaction (the outbox),
  pushed in order per dossier, retried with backoff, failed for good on a refusal;
- ``payload``: what a push says, built from the dossier when it is sent;
- ``fields``: the portal's field names and codes (unverified: one place, settings override);
- ``facts``: what other parts of motcua will know (fees, reuse, VNeID), one function each;
- ``adapter``: the production adapter (token or key), chosen in settings;
- ``sandbox``: the local stand-in for the portal (``run_sandboxes``, tests).
"""
