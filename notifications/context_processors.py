def unread(request):
    """The unread count in the header, for people who are logged in (one COUNT query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .services import unread_count

    return {"unread_notifications": lambda: unread_count(user)}
