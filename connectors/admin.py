"""The connectors' admin pages, one module per national system.

The national sign-in's client registration comes from the environment
(MOTCUA["CONNECTORS"]["identity"], read by portal.identity), never from the
database: allauth's "social applications" and stored tokens (motcua keeps none) are not
offered, so nobody configures an app that would be ignored. Linked identities (social
accounts) stay visible to administrators.
"""

from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin

from connectors.population import admin as population_admin  # noqa: F401

for model in (SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
