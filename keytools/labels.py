"""Words the offline reader shows: Bahasa Indonesia first, English after.

The status and category keys are the server's (``server/i18n.py``); the two
halves may not import each other, so the offline half keeps its own copy and
a test checks that the two lists stay the same.
"""

from __future__ import annotations

STATUSES: dict[str, tuple[str, str]] = {
    "received": ("Diterima", "Received"),
    "verification": ("Verifikasi", "Verification"),
    "needs_info": ("Perlu kelengkapan", "More information needed"),
    "investigation": ("Penelaahan/Investigasi", "Review/Investigation"),
    "referred": ("Dilimpahkan ke instansi berwenang", "Referred to the competent authority"),
    "closed_proven": ("Selesai - terbukti", "Closed - proven"),
    "closed_unproven": ("Selesai - tidak terbukti", "Closed - not proven"),
    "rejected": ("Ditolak - tidak memenuhi kriteria", "Rejected - does not meet the criteria"),
}
STATUS_KEYS = tuple(STATUSES)
FINAL_STATUSES = ("referred", "closed_proven", "closed_unproven", "rejected")

CATEGORIES: dict[str, tuple[str, str]] = {
    "korupsi": ("Korupsi/kerugian keuangan negara", "Corruption/loss to state finances"),
    "suap_gratifikasi": ("Suap/Gratifikasi", "Bribery/Gratification"),
    "pungli": ("Pungutan liar", "Illegal levies"),
    "penyalahgunaan_wewenang": ("Penyalahgunaan wewenang", "Abuse of authority"),
    "pengadaan": ("Pengadaan barang/jasa", "Procurement of goods/services"),
    "benturan_kepentingan": ("Benturan kepentingan", "Conflict of interest"),
    "disiplin_pegawai": ("Pelanggaran disiplin pegawai", "Breach of civil-service discipline"),
    "maladministrasi": ("Maladministrasi", "Maladministration"),
    "lainnya": ("Lainnya", "Other"),
}
UNKNOWN_CATEGORY = "tidak_dikenal"

# What the opener noticed about an item. "warn" flags are shown in red on the
# case page and counted on the index; "info" flags are shown beside the item.
FLAGS: dict[str, tuple[str, str, str]] = {
    "moved": ("warn", "Kode pengaduan di dalam berbeda dengan berkas ekspor",
              "The report code inside differs from the export's"),
    "kind_differs": ("warn", "Jenis isi berbeda dengan berkas ekspor", "The content's kind differs from the export's"),
    "not_to_mailbox": ("warn", "Tidak disegel untuk kunci kotak surat pelapor",
                       "Not sealed to the reporter's mailbox key"),
    "bad_signature": ("warn", "Tanda tangan balasan TIDAK SAH", "The reply's signature does NOT verify"),
    "conflict": ("warn", "Ekspor lain membawa isi berbeda untuk item ini",
                 "Another export carried different bytes for this item"),
    "attachment_differs": ("warn", "Lampiran tidak sama dengan yang tercantum dalam laporan",
                           "The attachment differs from what the report lists"),
    "unlisted": ("warn", "Lampiran tidak tercantum dalam laporan atau pesan mana pun",
                 "The attachment is not listed by any report or message"),
    "extra_report": ("warn", "Laporan kedua dalam kasus yang sama", "A second report in the same case"),
    "signed": ("info", "Ditandatangani kunci organisasi", "Signed by an organisation key"),
    "unsigned": ("info", "Ditulis daring oleh petugas (tanpa tanda tangan)", "Written online by staff (not signed)"),
    "renamed": ("info", "Nama berkas diamankan", "File name made safe"),
    "neutralised": ("info", "Akhiran .txt ditambahkan: jangan dibuka di peramban",
                    "A .txt ending was added: do not open it in a browser"),
}

CASE_WARNINGS: dict[str, tuple[str, str]] = {
    "mailbox_changed": ("Ekspor lain menyebut kunci kotak surat yang berbeda; balasan tetap memakai kunci pertama",
                        "Another export named a different mailbox key; replies keep using the first one"),
}


def status_label(key: str) -> str:
    pair = STATUSES.get(key)
    return f"{pair[0]} / {pair[1]}" if pair else key


def category_label(key: str) -> str:
    pair = CATEGORIES.get(key)
    return f"{pair[0]} / {pair[1]}" if pair else key


def flag_level(code: str) -> str:
    return FLAGS.get(code, ("warn", code, code))[0]


def flag_label(code: str) -> str:
    _, ind, eng = FLAGS.get(code, ("warn", code, code))
    return f"{ind} / {eng}"


def warning_label(code: str) -> str:
    pair = CASE_WARNINGS.get(code, (code, code))
    return f"{pair[0]} / {pair[1]}"
