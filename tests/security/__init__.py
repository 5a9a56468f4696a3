def vouched(user, email: str | None = None):
    """Give ``user`` a verified e-mail address, as an administrator-made account has
    (allauth's mandatory verification would stop the login otherwise)."""
    from security.accounts import account_email_vouched

    user.email = email or f"{user.username}@example.org"
    user.save(update_fields=["email"])
    account_email_vouched(user)
    return user
