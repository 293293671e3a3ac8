"""Why a settlement run no longer matches the data it was computed from."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from okeportal.messages import msg_text


class RunOutdatedReason(models.Model):
    """One change, made after the run was computed, to something the run used for its period.

    A run with any such reason is "nieaktualne": its figures stand as issued, and a
    recompute (a new version) takes the change into account.
    """

    class Code(models.TextChoices):
        METER_DATA = "meter_data", _("dane pomiarowe")
        JOINING = "joining", _("przystąpienie do klastra")
        LEAVING = "leaving", _("wystąpienie z klastra")
        TRANSFER = "transfer", _("przeniesienie PPE")
        MEMBERSHIP = "membership", _("okres przynależności PPE")
        PPE = "ppe", _("dane PPE")
        INSTALLATION = "installation", _("instalacje wytwórcze i magazyny")
        REGISTRY_IMPORT = "registry_import", _("import rejestru")
        RATE = "rate", _("stawki, opłaty i zasady")
        MEMBER_VAT = "member_vat", _("odliczanie VAT przez członka")
        BILLING_REGIME = "billing_regime", _("sposób rozliczenia PPE (prosument)")

    run = models.ForeignKey("reports.SettlementRun", on_delete=models.CASCADE, related_name="outdated_reasons")
    created_at = models.DateTimeField(auto_now_add=True)
    code = models.CharField(max_length=20, choices=Code.choices)
    detail = models.CharField(max_length=300, blank=True)  # the Polish text (admin); older rows: the only text
    detail_data = models.JSONField(null=True, blank=True)  # okeportal.messages code + parameters

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("powód nieaktualności rozliczenia")
        verbose_name_plural = _("powody nieaktualności rozliczeń")

    def __str__(self) -> str:
        return f"{self.get_code_display()}: {self.detail_text}"

    @property
    def detail_text(self) -> str:
        """What changed, in the active language."""
        return msg_text(self.detail_data, self.detail)
