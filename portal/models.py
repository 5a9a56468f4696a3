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
    # The ID number the national sign-in vouched for (#15); the profile's number counts as
    # verified while it is this one (connectors.population.services.verified_id_number).
    id_number_verified = models.CharField(
        _("verified personal ID number"), max_length=12, blank=True, editable=False
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

    class Meta:
        verbose_name = _("citizen profile")
        verbose_name_plural = _("citizen profiles")

    def __str__(self) -> str:
        return self.full_name or str(self.user)

    def full_address(self) -> str:
        return ", ".join(part for part in (self.address, self.commune, self.province) if part)
