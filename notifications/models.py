"""The notifications outbox: one row per message to one person on one channel.

A message is written, fully rendered, in the same transaction as the change that caused
it, and never re-rendered: a retry sends the same content under the same Message-ID.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    INAPP = "inapp", _("In the application")


class MessageStatus(models.TextChoices):
    CREATED = "created", _("Created")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    TEMPORARY_FAILURE = "temporary_failure", _("Temporary failure")
    PERMANENT_FAILURE = "permanent_failure", _("Permanent failure")


class HandsetStatus(models.TextChoices):
    """What an SMS gateway's delivery receipt says happened at the phone."""

    DELIVERED = "delivered", _("Delivered to the phone")
    FAILED = "failed", _("Not delivered to the phone")


class Message(models.Model):
    # The stable identity of the message: its e-mail Message-ID and the SMS gateway's
    # idempotency key, the same on every attempt, so receivers can drop duplicates.
    uid = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(
        "workflows.OutgoingEvent",
        null=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        verbose_name=_("event"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("recipient"),
    )
    # "channel" alone is the dossier's (how it was filed): a message's is how it is sent.
    channel = models.CharField(
        pgettext_lazy("message", "channel"), max_length=8, choices=Channel.choices
    )
    kind = models.CharField(_("notification"), max_length=40)
    language = models.CharField(_("language"), max_length=5)
    template_version = models.CharField(_("template version"), max_length=16)
    to_address = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"))
    link = models.CharField(_("link"), max_length=500, blank=True)

    status = models.CharField(
        _("status"), max_length=20, choices=MessageStatus.choices, default=MessageStatus.CREATED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    sending_since = models.DateTimeField(_("sending since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # The SMS gateway's own id for the message (from its answer to the send), which its
    # delivery receipts name; and what the latest receipt said, and when.
    provider_id = models.CharField(
        _("gateway's message id"), max_length=100, blank=True, db_index=True
    )
    handset_status = models.CharField(
        _("at the phone"), max_length=10, choices=HandsetStatus.choices, blank=True
    )
    handset_at = models.DateTimeField(_("receipt at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="message_due_idx",
                condition=models.Q(status__in=("created", "temporary_failure", "sending")),
            ),
            models.Index(
                fields=["recipient", "channel", "read_at"],
                name="message_inbox_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel} {self.uid}"

    @property
    def message_id(self) -> str:
        return f"<{self.uid}@motcua>"

    @property
    def status_text(self) -> str:
        """The status as shown to staff: an SMS receipt's word on the phone wins."""
        if self.handset_status:
            return str(HandsetStatus(self.handset_status).label)
        return str(MessageStatus(self.status).label)


class DeliveryAttempt(models.Model):
    """One try at delivering a message. Holds ids and outcomes only, never content."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=20, choices=MessageStatus.choices)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["message", "number"]

    def __str__(self) -> str:
        return f"{self.message_id}#{self.number} {self.outcome}"


class Preference(models.Model):
    """How a person wants to hear from motcua. In-app notifications are always kept."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.BooleanField(_("by e-mail"), default=True)
    sms = models.BooleanField(_("by SMS"), default=False)
    # Where SMS go: an officer's only number; for a citizen, the number given on a dossier
    # comes first and this one is used when the dossier has none. Normalised (0xxxxxxxxx).
    phone = models.CharField(_("mobile number for SMS"), max_length=20, blank=True)
    language = models.CharField(
        _("language of messages"), max_length=5, choices=settings.LANGUAGES, default="vi"
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user}: email={self.email} sms={self.sms} {self.language}"


class Alert(models.Model):
    """A failed or stuck item (a message, an event, a render; webhooks later) that the
    administrators' digest reported: each one is reported once (notifications.alerts)."""

    class Condition(models.TextChoices):
        FAILED = "failed", pgettext_lazy("alerts", "failed permanently")
        STUCK = "stuck", pgettext_lazy("alerts", "stuck")

    source = models.CharField(max_length=20)
    ref = models.PositiveBigIntegerField()
    condition = models.CharField(max_length=10, choices=Condition.choices)
    noticed_at = models.DateTimeField(auto_now_add=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "ref", "condition"], name="alert_once_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.ref} {self.condition}"
