"""The words both halves show for the protocol's status and category keys.

The keys are the protocol's (``PROTOCOL.md``); each value is the English
msgid of its label, translated where it is shown (``translate``).
"""

from __future__ import annotations

from . import N_

STATUSES: dict[str, str] = {
    "received": N_("Received"),
    "verification": N_("Verification"),
    "needs_info": N_("More information needed"),
    "investigation": N_("Review/Investigation"),
    "referred": N_("Referred to the competent authority"),
    "closed_proven": N_("Closed - proven"),
    "closed_unproven": N_("Closed - not proven"),
    "rejected": N_("Rejected - does not meet the criteria"),
}

CATEGORIES: dict[str, str] = {
    "korupsi": N_("Corruption/loss to state finances"),
    "suap_gratifikasi": N_("Bribery/Gratification"),
    "pungli": N_("Illegal levies"),
    "penyalahgunaan_wewenang": N_("Abuse of authority"),
    "pengadaan": N_("Procurement of goods/services"),
    "benturan_kepentingan": N_("Conflict of interest"),
    "disiplin_pegawai": N_("Breach of civil-service discipline"),
    "maladministrasi": N_("Maladministration"),
    "lainnya": N_("Other"),
}
