"""National sign-in: VNeID through the national public service portal's single sign-on
(OpenID Connect, authorization code with PKCE), #15 item 1.

- ``provider``: allauth's OpenID Connect provider, made strict (the id_token's signature
  is always checked, the issuer must be the configured server) and failing in plain words;
- ``adapter``: the allauth social-account adapter (staff refused, a new citizen's account,
  linking, the verified profile);
- ``claims``: which claim carries what (names from settings);
- ``sandbox``: a real OpenID provider on loopback for the demo and the tests.
"""
