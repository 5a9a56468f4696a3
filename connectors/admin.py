"""The admin for national connections.

The national sign-in's client registration comes from the environment
(MOTCUA["CONNECTORS"]["identity"], read by connectors.identity.adapter), never from the
database: allauth's "social applications" and stored tokens (motcua keeps none) are not
offered, so nobody configures an app that would be ignored. Linked identities (social
accounts) stay visible to administrators.
"""

from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin

for model in (SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
