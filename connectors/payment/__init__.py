"""Online fees through the national payment platform (#15 item 4).

- ``provider``: the payment-provider interface (init a payment and get the citizen's
  redirect, read a return, verify a server-to-server callback, query a payment's state)
  and its registry, chosen in ``MOTCUA["CONNECTORS"]["payment"]``;
- ``national``: the national payment platform's adapter (INIT message, integrity code);
- ``sandbox``: the platform's stand-in for the demo and the tests;
- ``models``/``services``: payment attempts per fee, and the only code that changes them
  (start, callback, reconciliation); a confirmed payment marks the fee paid through the
  fees' own service (``fee_mark_paid``);
- ``views``: the citizen's button, the return page, the receipt; the platform's callback.

The citizen's return is never proof of payment: only the signed callback or the
platform's answer to a query confirms one.
"""
