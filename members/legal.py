"""The legal citations the portal prints, in one place.

Energy clusters and energy cooperatives are regulated by the ustawa z dnia 20 lutego
2015 r. o odnawialnych źródłach energii (the OZE act; consolidated text Dz.U. 2024
poz. 1361 with later changes): the cluster definition with its area (one powiat or
at most five gminas, below 110 kV, a JST among the members) in art. 2 pkt 15a, the
cluster rules from art. 38a (the agreement: art. 38aa), the energy cooperative in
art. 2 pkt 33a with its seller's netting in art. 38e, and the time-limited support
for registered clusters (fee exemptions and reduced distribution charges until
31 December 2029) from art. 184k. The cooperative's hourly balancing is set by the
climate minister's regulation of 23 March 2022 (Dz.U. 2022 poz. 703). The Prawo
energetyczne governs DSOs and tariffs, not these rules.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy, gettext_noop

OZE_ACT = "ustawa o OZE (Dz.U. 2024 poz. 1361 ze zm.)"
AREA_RULE_TEXT = gettext_noop("art. 2 pkt 15a i art. 38a ustawy o OZE")  # a stored message's ``rule_label``
AREA_RULE = gettext_lazy(AREA_RULE_TEXT)
CLUSTER_CONDITIONS = "art. 184k i nast. ustawy o OZE (Dz.U. 2024 poz. 1361 ze zm.)"
COOPERATIVE_CONDITIONS = "art. 2 pkt 33a ustawy o OZE (Dz.U. 2024 poz. 1361 ze zm.)"
SUPPORT = "art. 184k ust. 1 ustawy o OZE"
COOPERATIVE_NETTING = "art. 38e ustawy o OZE"
COOPERATIVE_HOURLY_BALANCING = "Dz.U. 2022 poz. 703"
