"""Accounts created by someone other than their owner (an administrator, the demo data)
start with their e-mail address verified: the creator vouches for it. Citizens who sign
up themselves verify theirs by mail (allauth)."""

from allauth.account.models import EmailAddress


def account_email_vouched(user) -> None:
    if not user.email:
        return
    EmailAddress.objects.update_or_create(
        user=user, email=user.email.lower(), defaults={"verified": True, "primary": True}
    )
