"""What the portal keeps about a citizen: the profile that fills their forms."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from procedures import ethnic_groups


class CitizenProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="citizen_profile"
    )
    full_name = models.CharField(_("full name"), max_length=200)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    # The GSO code of one of the 54 groups (procedures.ethnic_groups), shown by its name.
    ethnic_group = models.CharField(
        _("ethnic group"), max_length=2, choices=ethnic_groups.CHOICES, blank=True
    )
    id_number = models.CharField(
        _("personal ID number"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{12}$", _("The personal ID number has 12 digits."))],
    )
    province = models.CharField(_("province"), max_length=100, blank=True)
    commune = models.CharField(_("commune"), max_length=100, blank=True)
    address = models.CharField(_("street address, village"), max_length=300, blank=True)
    phone = models.CharField(
        _("phone"),
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^\+?[0-9 .-]{8,15}$", _("Enter a valid phone number."))],
    )
    # The preferred language lives with the notification preferences
    # (notifications.Preference), the one place that decides how a person is addressed.

    # What a national identity (VNeID, connectors.identity) vouched for: those fields are
    # shown read-only and a post that changes them is refused (portal.forms.ProfileForm).
    # Written only by portal.services.profile_verify_identity.
    verified_fields = models.JSONField(_("verified fields"), default=list, blank=True)
    verified_source = models.CharField(
        _("verified by"), max_length=20, blank=True, choices=[("vneid", "VNeID")]
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    identity_level = models.PositiveSmallIntegerField(
        _("identity account level"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("citizen profile")
        verbose_name_plural = _("citizen profiles")
        constraints = [
            # One person, one account: a verified ID number belongs to one profile.
            models.UniqueConstraint(
                fields=["id_number"],
                condition=~models.Q(verified_source=""),
                name="portal_profile_one_verified_id_number",
            )
        ]

    def __str__(self) -> str:
        return self.full_name or str(self.user)

    def is_verified(self, field: str) -> bool:
        return bool(self.verified_source) and field in (self.verified_fields or [])

    def full_address(self) -> str:
        return ", ".join(part for part in (self.address, self.commune, self.province) if part)
