"""National sign-in: VNeID through the national public service portal's single sign-on
(OpenID Connect, authorization code with PKCE), #15 item 1.

- ``provider``: allauth's OpenID Connect provider, made strict (the id_token's signature
  is always checked, the issuer must be the configured server) and failing in plain words;
- ``views``: the login and callback views, and the page shown when a sign-in fails;
- ``claims``: which claim carries what (names from settings);
- ``sandbox``: a real OpenID provider on loopback for the demo and the tests.

What a sign-in does to accounts (staff refused, a new citizen's account, linking, the
verified profile) is the portal's: the allauth adapter is portal.identity.
"""
