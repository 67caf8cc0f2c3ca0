"""Bahasa Indonesia first, English second: every string a page shows.

Long texts (the home page, the criteria) live in templates, one block per
language; short strings live here. ``t(lang, key)`` falls back to Indonesian,
and a missing key fails loudly in tests rather than showing a raw key.
"""

from __future__ import annotations

LANGS = ("id", "en")
DEFAULT_LANG = "id"

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

STATUS_EXPLAINED: dict[str, tuple[str, str]] = {
    "received": ("Pengaduan Anda sudah tersimpan dan menunggu diperiksa.",
                 "Your report is stored and waiting to be examined."),
    "verification": ("Inspektorat sedang memeriksa apakah pengaduan memenuhi kriteria 4W+1H.",
                     "The Inspectorate is checking whether the report meets the 4W+1H criteria."),
    "needs_info": ("Inspektorat membutuhkan keterangan tambahan. Bacalah pesan di bawah dan balas.",
                   "The Inspectorate needs more information. Read the messages below and reply."),
    "investigation": ("Pengaduan sedang ditelaah atau diinvestigasi.",
                      "The report is being reviewed or investigated."),
    "referred": ("Pengaduan diteruskan ke instansi yang berwenang menanganinya.",
                 "The report was passed to the authority competent to handle it."),
    "closed_proven": ("Pemeriksaan selesai dan dugaan terbukti.",
                      "The examination is complete and the allegation was proven."),
    "closed_unproven": ("Pemeriksaan selesai dan dugaan tidak terbukti.",
                        "The examination is complete and the allegation was not proven."),
    "rejected": ("Pengaduan tidak memenuhi kriteria sehingga tidak ditindaklanjuti.",
                 "The report does not meet the criteria and will not be followed up."),
}

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

MESSAGES: dict[str, tuple[str, str]] = {
    # Navigation and frame
    "site.title": ("Whistleblowing System", "Whistleblowing System"),
    "site.tagline": ("Pengaduan dugaan tindak pidana korupsi, aman dan tanpa nama",
                     "Reporting suspected corruption, safely and anonymously"),
    "nav.home": ("Beranda", "Home"),
    "nav.criteria": ("Kriteria Pengaduan", "Reporting criteria"),
    "nav.submit": ("Buat Pengaduan", "Make a report"),
    "nav.login": ("Masuk Pelapor", "Reporter login"),
    "nav.mailbox": ("Pengaduan Saya", "My reports"),
    "nav.logout": ("Keluar", "Log out"),
    "nav.org_key": ("Kunci Inspektorat", "Inspectorate key"),
    "nav.language": ("English", "Bahasa Indonesia"),
    "nav.skip": ("Langsung ke isi", "Skip to content"),
    "footer.text": ("Situs ini tidak memakai JavaScript, cookie pelacak, atau sumber dari pihak lain.",
                    "This site uses no JavaScript, no tracking cookies and nothing from third parties."),
    # Form
    "form.title": ("Formulir Pengaduan", "Report form"),
    "form.intro": ("Isilah unsur 4W+1H selengkap mungkin sesuai yang Anda ketahui. Kolom bertanda * wajib diisi.",
                   "Fill in the 4W+1H as fully as you know them. Fields marked * are required."),
    "form.category": ("Jenis pelanggaran", "Kind of wrongdoing"),
    "form.category.choose": ("- pilih -", "- choose -"),
    "form.what": ("Apa (What) *", "What *"),
    "form.what.hint": ("Perbuatan yang diduga korupsi: apa yang terjadi?",
                       "The act suspected of corruption: what happened?"),
    "form.who": ("Siapa (Who) *", "Who *"),
    "form.who.hint": ("Siapa yang bertanggung jawab atau terlibat? Sebutkan jabatan atau unitnya bila tahu.",
                      "Who is responsible or involved? Give their position or unit if you know it."),
    "form.persons": ("Pihak yang dilaporkan (boleh dikosongkan)", "Persons reported (optional)"),
    "form.person": ("Orang ke-{n}", "Person {n}"),
    "form.person.name": ("Nama", "Name"),
    "form.person.position": ("Jabatan", "Position"),
    "form.person.unit": ("Unit kerja", "Unit"),
    "form.where": ("Di mana (Where) *", "Where *"),
    "form.where.hint": ("Di kantor, dinas, desa, atau tempat mana kejadiannya?",
                        "In which office, agency, village or place did it happen?"),
    "form.when": ("Kapan (When) *", "When *"),
    "form.when.hint": ("Kapan terjadi? Perkiraan waktu juga boleh (misalnya: awal 2026).",
                       "When did it happen? An estimate is fine (for example: early 2026)."),
    "form.incident_date": ("Tanggal kejadian (bila tahu)", "Date of the incident (if known)"),
    "form.how": ("Bagaimana (How) *", "How *"),
    "form.how.hint": ("Bagaimana caranya (modus)? Siapa berbuat apa, dengan cara apa?",
                      "How was it done (the modus)? Who did what, and by what means?"),
    "form.loss": ("Perkiraan kerugian (bila ada)", "Estimated loss (if any)"),
    "form.loss.hint": ("Misalnya: sekitar Rp50 juta.", "For example: about Rp50 million."),
    "form.attachments": ("Bukti awal", "Initial evidence"),
    "form.attachments.hint": ("Dokumen, foto, atau rekaman; boleh beberapa berkas, paling banyak {count} berkas, "
                              "{file_size} per berkas. Hapus dulu metadata foto (lokasi, nama perangkat).",
                              "Documents, pictures or recordings; several files allowed, at most {count} files, "
                              "{file_size} each. Remove photo metadata (location, device name) first."),
    "form.evidence_note": ("Keterangan bukti (bila perlu)", "Notes on the evidence (if needed)"),
    "form.identity": ("Identitas Anda (tidak disarankan)", "Your identity (not recommended)"),
    "form.identity.warning": ("Anda tidak perlu menyebutkan identitas. Isilah hanya bila Anda sungguh ingin "
                              "dihubungi secara langsung; identitas ini hanya dapat dibaca oleh pemegang kunci "
                              "Inspektorat.",
                              "You do not need to say who you are. Fill this in only if you really want to be "
                              "contacted directly; only the Inspectorate's keyholders can read it."),
    "form.confirm": ("Saya menyatakan bahwa pengaduan ini saya buat dengan sebenar-benarnya, dan saya memahami "
                     "bahwa pengaduan palsu atau fitnah dapat dikenai sanksi. *",
                     "I declare that this report is true to the best of my knowledge, and I understand that a "
                     "false or slanderous report may be sanctioned. *"),
    "form.confirm_hint": ("Tombol \u201cKirim Pengaduan\u201d muncul setelah Anda mencentang pernyataan ini.",
                          "The \u201cSend report\u201d button appears once you tick this statement."),
    "form.have_codename": ("Sudah pernah melapor dan punya nama sandi?", "Already reported and have a codename?"),
    "form.have_codename_link": ("Masuk untuk melihat pengaduan dan balasan Anda.",
                                "Log in to see your reports and the replies."),
    "form.send": ("Kirim Pengaduan", "Send report"),
    "form.errors": ("Pengaduan belum terkirim. Periksa kolom yang ditandai di bawah; teks Anda tetap tersimpan "
                    "di formulir ini.",
                    "The report was not sent. Check the fields marked below; your text is still in this form."),
    "form.not_stored": ("Isian Anda belum tersimpan, tetapi masih ada di bawah ini: kirim lagi nanti.",
                        "Your text was not stored, but it is still below: send it again later."),
    "form.not_stored_files": ("Isian Anda belum tersimpan, tetapi masih ada di bawah ini. Berkas yang Anda pilih "
                              "tidak disimpan: pilih lagi berkasnya sebelum mengirim ulang.",
                              "Your text was not stored, but it is still below. The files you chose were not "
                              "kept: choose them again before sending again."),
    "form.reattach": ("Berkas bukti tidak ikut tersimpan: pilih lagi berkasnya sebelum mengirim.",
                      "Evidence files are not kept: choose them again before sending."),
    "field.required": ("Kolom ini wajib diisi.", "This field is required."),
    "field.too_long": ("Terlalu panjang: paling banyak {max} karakter.", "Too long: at most {max} characters."),
    "field.category": ("Pilih salah satu jenis pelanggaran.", "Choose one kind of wrongdoing."),
    "field.confirm": ("Centang pernyataan ini untuk mengirim.", "Tick this statement to send."),
    "form.date_hint": ("Hari/bulan/tahun, misalnya 17/08/2026.", "Day/month/year, for example 17/08/2026."),
    "field.date": ("Tulis tanggal dengan urutan hari, bulan, tahun, misalnya 17/08/2026.",
                   "Write the date as day/month/year, for example 17/08/2026."),
    "field.body": ("Tulis pesan Anda.", "Write your message."),
    # Success
    "done.title": ("Pengaduan terkirim", "Report sent"),
    "done.intro": ("Terima kasih. Pengaduan Anda telah disimpan dalam bentuk terenkripsi; hanya pemegang kunci Inspektorat yang "
                   "dapat membacanya.",
                   "Thank you. Your report is stored encrypted; only the Inspectorate's keyholders can read it."),
    "done.codename": ("Nama sandi", "Codename"),
    "done.passphrase": ("Frasa sandi", "Passphrase"),
    "done.report_code": ("Kode pengaduan", "Report code"),
    "done.keep": ("Tulis ketiganya di kertas atau cetak halaman ini, lalu simpan di tempat aman yang bukan di "
                  "kantor. Jangan menyimpannya di komputer kantor, surel, atau ponsel yang dipakai orang lain.",
                  "Write all three on paper or print this page, and keep it somewhere safe outside the office. "
                  "Do not keep them on an office computer, in e-mail, or on a phone others use."),
    "done.no_recovery": ("Tidak seorang pun dapat memulihkan nama sandi atau frasa sandi ini, termasuk "
                         "Inspektorat dan pengelola server. Tanpa keduanya Anda tidak dapat membaca balasan.",
                         "Nobody can recover this codename or passphrase, not the Inspectorate and not the "
                         "server's administrator. Without both you cannot read replies."),
    "done.next": ("Silakan masuk kembali beberapa hari lagi untuk melihat status dan balasan.",
                  "Come back in a few days to see the status and any reply."),
    "done.added": ("Pengaduan baru tersimpan di akun Anda dengan kode ini.",
                   "The new report is stored under your account with this code."),
    # Login and mailbox
    "login.title": ("Masuk Pelapor", "Reporter login"),
    "login.intro": ("Masukkan nama sandi dan frasa sandi yang Anda terima saat mengirim pengaduan.",
                    "Enter the codename and passphrase you received when you sent your report."),
    "login.codename": ("Nama sandi", "Codename"),
    "login.passphrase": ("Frasa sandi", "Passphrase"),
    "login.submit": ("Masuk", "Log in"),
    "login.failed": ("Nama sandi atau frasa sandi salah.", "The codename or passphrase is wrong."),
    "login.slow": ("Masuk memerlukan beberapa detik: kunci Anda dihitung ulang dari frasa sandi.",
                   "Logging in takes a few seconds: your key is recomputed from the passphrase."),
    "mailbox.title": ("Pengaduan Saya", "My reports"),
    "mailbox.empty": ("Belum ada pengaduan.", "No reports yet."),
    "mailbox.code": ("Kode", "Code"),
    "mailbox.status": ("Status", "Status"),
    "mailbox.created": ("Dikirim", "Sent"),
    "mailbox.updated": ("Perubahan terakhir", "Last change"),
    "mailbox.category": ("Kategori", "Category"),
    "mailbox.unreadable": ("(tidak dapat dibuka)", "(cannot be opened)"),
    "mailbox.answered": ("Balasan baru ({count})", "New reply ({count})"),
    "case.latest_reply": ("Lihat balasan terbaru dari Inspektorat ({day})", "See the Inspectorate's latest reply ({day})"),
    "case.news": ("Ada {count} balasan atau perubahan status baru sejak kunjungan terakhir Anda.",
                  "There are {count} new replies or status changes since your last visit."),
    "mailbox.new": ("Buat pengaduan baru", "Make a new report"),
    "mailbox.timeout": ("Demi keamanan, sesi berakhir setelah 15 menit tanpa kegiatan.",
                        "For your safety, the session ends after 15 minutes without activity."),
    "case.title": ("Pengaduan {code}", "Report {code}"),
    "case.timeline": ("Riwayat status", "Status history"),
    "case.report": ("Pengaduan Anda", "Your report"),
    "case.thread": ("Percakapan", "Messages"),
    "case.no_thread": ("Belum ada pesan.", "No messages yet."),
    "case.from_you": ("Anda", "You"),
    "case.from_org": ("Inspektorat", "Inspectorate"),
    "case.files": ("Berkas terlampir", "Attached files"),
    "case.files_note": ("Berkas tersimpan terenkripsi untuk Inspektorat; berkas tidak dapat diunduh kembali dari sini.",
                        "Files are stored encrypted for the Inspectorate; they cannot be downloaded again here."),
    "case.unreadable": ("Isi ini tidak dapat dibuka.", "This item cannot be opened."),
    "case.moved": ("Peringatan: isi ini menyebut kode pengaduan lain.", "Warning: this item names another report code."),
    "case.unsigned": ("Peringatan: tanda tangan balasan ini tidak sah.", "Warning: this reply's signature is not valid."),
    "case.reply_title": ("Kirim pesan", "Send a message"),
    "case.reply_body": ("Pesan", "Message"),
    "case.reply_files": ("Berkas tambahan", "More files"),
    "case.reply_send": ("Kirim Pesan", "Send message"),
    "case.sent": ("Pesan terkirim.", "Message sent."),
    "case.none": ("(tidak diisi)", "(left empty)"),
    "delete.link": ("Hapus akun saya", "Delete my account"),
    "delete.title": ("Hapus akun dan semua pengaduan", "Delete the account and every report"),
    "delete.warning": ("Akun ini, semua pengaduan di dalamnya, pesan, balasan, dan berkas akan dihapus dari server "
                       "dan tidak dapat dikembalikan. Salinan yang sudah diterima Inspektorat sebelumnya tidak "
                       "terhapus dari komputer pemegang kunci.",
                       "This account, every report in it, the messages, replies and files will be deleted from the "
                       "server for good. Copies the Inspectorate already received stay on the keyholders' "
                       "computer."),
    "delete.confirm": ("Ya, saya ingin menghapus akun ini beserta semua pengaduannya.",
                       "Yes, I want to delete this account and all its reports."),
    "delete.submit": ("Hapus sekarang", "Delete now"),
    "delete.done": ("Akun Anda sudah dihapus. Nama sandi dan frasa sandi tidak berlaku lagi.",
                    "Your account is deleted. The codename and passphrase no longer work."),
    "home.onion": ("Alamat onion situs ini (untuk Tor Browser)", "This site's onion address (for Tor Browser)"),
    # Org key
    "orgkey.title": ("Kunci publik Inspektorat", "The Inspectorate's public key"),
    "orgkey.intro": ("Setiap pengaduan dienkripsi dengan kunci ini sebelum disimpan.",
                     "Every report is encrypted to this key before it is stored."),
    "orgkey.check": ("Untuk memastikan kunci ini asli, cocokkan sidik jarinya dengan sidik jari yang diumumkan di "
                     "situs web resmi Pemerintah Kabupaten atau pada brosur dan poster resmi WBS. Anda tidak perlu "
                     "datang ke kantor mana pun untuk memeriksanya; lakukan dari perangkat pribadi Anda. Jika "
                     "berbeda, jangan kirim pengaduan.",
                     "To be sure this key is genuine, compare its fingerprint with the one published on the "
                     "Regency Government's official website or on the official WBS leaflets and posters. You do "
                     "not need to visit any office to check it; do it from your own device. If they differ, do not "
                     "send a report."),
    "orgkey.state": ("Keadaan", "State"),
    "orgkey.since": ("Sejak", "Since"),
    "orgkey.fingerprint": ("Sidik jari", "Fingerprint"),
    "orgkey.none": ("Belum ada kunci terpasang: pengaduan belum dapat diterima.",
                    "No key is installed yet: reports cannot be received."),
    "orgkey.download": ("Unduh org.pub.json", "Download org.pub.json"),
    # Errors
    "error.title": ("Maaf", "Sorry"),
    "error.back": ("Kembali ke beranda", "Back to the home page"),
    "error.back_staff": ("Kembali ke ringkasan", "Back to the dashboard"),
    "error.internal": ("Terjadi kesalahan pada server. Pengaduan yang belum selesai tidak tersimpan; silakan coba lagi.",
                       "Something went wrong on the server. An unfinished report was not stored; please try again."),
    "error.not_found": ("Halaman tidak ditemukan.", "Page not found."),
    "error.unknown_host": ("Alamat ini tidak dikenal oleh server ini. Periksa alamat yang Anda ketik.",
                           "This server does not know this address. Check the address you typed."),
    "error.bad_request": ("Permintaan tidak dapat dipahami.", "The request could not be understood."),
    "error.csrf": ("Formulir sudah kedaluwarsa. Muat ulang halaman lalu kirim lagi.",
                   "The form has expired. Reload the page and send it again."),
    "error.too_large": ("Berkas atau pengaduan terlalu besar. Batasnya {file_size} per berkas, {report_size} per "
                        "pengaduan, dan {count} berkas. Tidak ada yang tersimpan; kirim lagi dengan berkas lebih kecil.",
                        "A file or the report is too large. The limits are {file_size} per file, {report_size} per "
                        "report and {count} files. Nothing was stored; send again with smaller files."),
    "error.throttled": ("Terlalu banyak percobaan masuk. Tunggu beberapa menit lalu coba lagi.",
                        "Too many login attempts. Wait a few minutes and try again."),
    "error.reports_throttled": ("Terlalu banyak laporan dalam waktu singkat. Tunggu beberapa menit lalu kirim lagi.",
                                "Too many reports in a short time. Wait a few minutes and send again."),
    "error.busy": ("Server sedang sibuk. Coba lagi sebentar lagi.", "The server is busy. Try again in a moment."),
    "error.no_key": ("Situs belum siap menerima pengaduan: kunci Inspektorat belum dipasang.",
                     "The site cannot receive reports yet: the Inspectorate's key is not installed."),
    "error.disk_full": ("Server sedang tidak dapat menyimpan pengaduan. Coba lagi nanti.",
                        "The server cannot store reports right now. Try again later."),
    "error.uploads_busy": ("Saat ini sudah banyak kiriman berkas yang sedang berjalan. Tunggu sebentar, lalu kirim "
                           "lagi; kiriman Anda belum diterima.",
                           "Many uploads are in progress right now. Wait a moment, then send again; yours has not "
                           "been received."),
    "error.upload_stalled": ("Kiriman terhenti atau terlalu lambat, sehingga dibatalkan. Tidak ada yang tersimpan; "
                             "silakan kirim lagi.",
                             "The upload stopped or was too slow, so it was cancelled. Nothing was stored; please "
                             "send again."),
    # Staff side
    "staff.title": ("Ruang Kerja Inspektorat", "Inspectorate workspace"),
    "staff.login": ("Masuk Petugas", "Staff login"),
    "staff.username": ("Nama pengguna", "Username"),
    "staff.password": ("Kata sandi", "Password"),
    "staff.totp": ("Kode autentikator (6 angka)", "Authenticator code (6 digits)"),
    "staff.login_failed": ("Nama pengguna, kata sandi, atau kode salah.", "The username, password or code is wrong."),
    "staff.input_error": ("Isian tidak dapat diterima.", "The input cannot be accepted."),
    "staff.bundle_rejected": ("Berkas balasan ditolak.", "The reply bundle was refused."),
    "staff.dashboard": ("Ringkasan", "Dashboard"),
    "staff.reports": ("Pengaduan", "Reports"),
    "staff.import": ("Impor balasan", "Import replies"),
    "staff.export": ("Ekspor", "Export"),
    "staff.stats": ("Statistik", "Statistics"),
    "staff.users": ("Pengguna", "Users"),
    "staff.audit": ("Log audit", "Audit log"),
    "staff.audit_pages": ("Halaman log audit", "Audit log pages"),
    "staff.audit_older": ("Entri yang lebih lama", "Older entries"),
    "staff.audit_newest": ("Entri terbaru", "Newest entries"),
    "staff.password_change": ("Ganti kata sandi", "Change password"),
    "staff.password_old": ("Kata sandi sekarang", "Current password"),
    "staff.password_new": ("Kata sandi baru (paling sedikit 12 karakter)", "New password (at least 12 characters)"),
    "staff.password_confirm": ("Ulangi kata sandi baru", "Repeat the new password"),
    "staff.password_forced": ("Ganti kata sandi sementara Anda sebelum melanjutkan.",
                              "Change your one-time password before you go on."),
    "staff.metadata_only": ("Halaman ini hanya menampilkan metadata. Isi pengaduan hanya dapat dibaca di komputer "
                            "pemegang kunci yang tidak terhubung ke jaringan.",
                            "These pages show metadata only. Reports can be read only on the offline keyholder "
                            "computer."),
    "staff.by_status": ("Menurut status", "By status"),
    "staff.deadlines": ("Tenggat", "Deadlines"),
    # The working-day calendar on the staff dashboard (workdays/, holidays_file)
    "calendar.title": ("Kalender hari kerja", "Working-day calendar"),
    "calendar.in_force": ("Tenggat dihitung dalam hari kerja: Senin sampai Jumat, kecuali hari libur nasional "
                          "dan cuti bersama (paket holidays {version}) dan hari raya Hindu yang diliburkan "
                          "Pemerintah Provinsi Bali (daftar bawaan, diperiksa {checked}).",
                          "Deadlines are counted in working days: Monday to Friday, except national holidays "
                          "and cuti bersama (holidays package {version}) and the Hindu holy days the Province of "
                          "Bali gives off (default list, checked {checked})."),
    "calendar.local": ("Ditambah berkas hari libur Inspektorat {path}: {holidays} hari libur, {working} hari kerja "
                       "pengganti.",
                       "Plus the Inspektorat's holidays file {path}: {holidays} day(s) off, {working} day(s) "
                       "worked after all."),
    "calendar.no_local": ("Tidak ada berkas hari libur tambahan (holidays_file di wbs.toml).",
                          "No extra holidays file (holidays_file in wbs.toml)."),
    "calendar.bad_file": ("Berkas hari libur tidak dapat dipakai, kalender sebelumnya tetap berlaku: {error}",
                          "The holidays file cannot be used; the previous calendar stays in force: {error}"),
    "calendar.next": ("Hari libur berikutnya (60 hari ke depan)", "Next days off (the next 60 days)"),
    "calendar.none_soon": ("Tidak ada hari libur dalam 60 hari ke depan.", "No days off in the next 60 days."),
    "staff.overdue": ("Lewat tenggat", "Overdue"),
    "staff.soon": ("Segera jatuh tempo", "Due soon"),
    "staff.unexported": ("Pesan pelapor belum diekspor", "Reporter messages not yet exported"),
    "staff.none": ("Tidak ada.", "None."),
    "staff.deadline.acknowledge": ("tanggapan awal", "acknowledge"),
    "staff.deadline.feedback": ("umpan balik", "feedback"),
    "staff.filter": ("Saring", "Filter"),
    "staff.all": ("Semua", "All"),
    "staff.due": ("Jatuh tempo", "Due"),
    "staff.items": ("Item", "Items"),
    "staff.kind": ("Jenis", "Kind"),
    "staff.size": ("Ukuran (setelah padding)", "Size (padded)"),
    "staff.day": ("Tanggal", "Day"),
    "staff.exported": ("Sudah diekspor", "Exported"),
    "staff.yes": ("ya", "yes"),
    "staff.no": ("belum", "no"),
    "staff.change_status": ("Ubah status", "Change status"),
    "staff.no_transition": ("Status ini sudah final.", "This status is final."),
    "staff.reply": ("Balasan ke pelapor", "Reply to the reporter"),
    "staff.reply_note": ("Balasan dienkripsi saat diterima untuk pelapor dan pemegang kunci; server tidak menyimpan teksnya.",
                         "The reply is encrypted on arrival to the reporter and the keyholders; the server keeps no text."),
    "staff.send": ("Kirim", "Send"),
    "staff.download": ("Unduh bundel ekspor", "Download export bundle"),
    "staff.export_new": ("Yang belum pernah diekspor", "Everything not yet exported"),
    "staff.export_all": ("Semua pengaduan", "All reports"),
    "staff.export_selected": ("Ekspor yang dipilih", "Export selected"),
    "staff.import_file": ("Berkas balasan (.wbsr)", "Reply bundle (.wbsr)"),
    "staff.imported": ("Diimpor: {added} balasan baru, {unchanged} sudah ada, {statuses} perubahan status.",
                       "Imported: {added} new replies, {unchanged} already present, {statuses} status changes."),
    "staff.done": ("Tersimpan.", "Saved."),
    "staff.err.password_length": ("Kata sandi terdiri dari {low} sampai {high} karakter.",
                                  "A password has {low} to {high} characters."),
    "staff.err.username": ("Nama pengguna terdiri dari 3 sampai 40 huruf, angka, titik, tanda hubung atau garis bawah.",
                           "A username has 3 to 40 letters, digits, dots, dashes or underscores."),
    "staff.err.role": ("Peran harus admin atau petugas.", "The role must be admin or handler."),
    "staff.err.user_exists": ("Pengguna {name} sudah ada.", "User {name} exists already."),
    "staff.err.password_wrong": ("Kata sandi saat ini salah.", "The current password is wrong."),
    "staff.err.passwords_differ": ("Kedua kata sandi baru tidak sama.", "The two new passwords differ."),
    "staff.err.password_same": ("Kata sandi baru harus berbeda dari yang lama.",
                                "The new password must differ from the old one."),
    "staff.err.transition": ("Pengaduan berstatus \u201c{old}\u201d tidak dapat dipindah ke \u201c{new}\u201d.",
                             "A report in status \u201c{old}\u201d cannot move to \u201c{new}\u201d."),
    "staff.err.reply_empty": ("Balasan masih kosong.", "The reply is empty."),
    "staff.err.own_account": ("Akun Anda sendiri tidak dapat diubah di sini.", "You cannot change your own account here."),
    "staff.err.no_key": ("Belum ada kunci Inspektorat yang terpasang di server ini.",
                         "No organisation key is installed on this server."),
    "staff.err.unknown_report": ("Balasan {item} ditujukan ke pengaduan {code}, yang tidak ada di server ini.",
                                 "Reply {item} is for report {code}, which this server does not have."),
    "staff.err.unknown_status": ("Balasan {item} menetapkan status yang tidak dikenal: {status}.",
                                 "Reply {item} sets an unknown status: {status}."),
    "staff.err.item_differs": ("Item {item} sudah tersimpan dengan isi yang berbeda.",
                               "Item {item} is already stored with different content."),
    "staff.err.item_purged": ("Berkas balasan ini sudah usang: balasan {item} untuk pengaduan {code} telah dihapus"
                              " pada {day} karena masa simpannya habis. Berkas ini tidak diimpor; buat berkas"
                              " balasan baru bila memang perlu.",
                              "This reply bundle is stale: reply {item} for report {code} was deleted on {day}"
                              " when its retention period ended. Nothing was imported; make a new bundle if a"
                              " reply is still needed."),
    "staff.err.made_before_purge": ("Berkas balasan ini sudah usang: dibuat pada {made}, sebelum isi pengaduan {code}"
                                    " dihapus pada {day} karena masa simpannya habis. Berkas ini tidak diimpor; buat"
                                    " berkas balasan baru bila memang perlu.",
                                    "This reply bundle is stale: it was made on {made}, before the content of report"
                                    " {code} was deleted on {day} when its retention period ended. Nothing was"
                                    " imported; make a new bundle if a reply is still needed."),
    "staff.err.bundle_replayed": ("Berkas balasan ini sudah diimpor pada {day}, dan balasan {item} darinya tidak lagi"
                                  " tersimpan. Berkas lama tidak diimpor ulang; buat berkas balasan baru bila"
                                  " memang perlu.",
                                  "This reply bundle was already imported on {day}, and its reply {item} is no"
                                  " longer stored. An old bundle is not imported again; make a new bundle if a"
                                  " reply is still needed."),
    "staff.add_user": ("Tambah pengguna", "Add user"),
    "staff.role": ("Peran", "Role"),
    "staff.disable": ("Nonaktifkan", "Disable"),
    "staff.enable": ("Aktifkan", "Enable"),
    "staff.reset": ("Atur ulang kata sandi dan 2FA", "Reset password and 2FA"),
    "staff.disabled": ("nonaktif", "disabled"),
    "staff.secret_once": ("Berikan ini kepada pengguna secara langsung; tidak akan ditampilkan lagi.",
                          "Give this to the user in person; it will not be shown again."),
    "staff.totp_uri": ("URI autentikator (otpauth)", "Authenticator URI (otpauth)"),
    "staff.action": ("Tindakan", "Action"),
    "staff.actor": ("Oleh", "By"),
    "staff.month": ("Bulan", "Month"),
    "staff.count": ("Jumlah", "Count"),
    "staff.ack_time": ("Hari sampai ditanggapi (median / rata-rata)", "Days to acknowledge (median / mean)"),
    "staff.close_time": ("Hari sampai selesai (median / rata-rata)", "Days to close (median / mean)"),
    "staff.csv": ("Unduh CSV", "Download CSV"),
    # The daily digest by e-mail (server/alerts.py), on the dashboard
    "alerts.title": ("Ringkasan harian lewat e-mail", "Daily digest by e-mail"),
    "alerts.off": ("Tidak diatur: tambahkan bagian [alerts] di wbs.toml agar staf menerima ringkasan setiap hari.",
                   "Not set up: add an [alerts] table to wbs.toml so staff receive a digest every day."),
    "alerts.schedule": ("Dikirim setiap hari pukul {send_at} ke {count} alamat.",
                        "Sent every day at {send_at} to {count} address(es)."),
    "alerts.last_sent": ("Terakhir terkirim: {day}.", "Last sent: {day}."),
    "alerts.never_sent": ("Belum pernah terkirim.", "Not sent yet."),
    "alerts.failing": ("Pengiriman gagal {failures} kali sejak terakhir berhasil, terakhir pada {day}: {reason}"
                       " Server mencoba lagi; periksa bagian [alerts] di wbs.toml dan jalankan 'wbs alerts test'.",
                       "Sending failed {failures} time(s) since the last success, last on {day}: {reason}"
                       " The server tries again; check the [alerts] table in wbs.toml and run 'wbs alerts test'."),
    "alerts.reason.refused": ("server e-mail tidak dapat dihubungi atau menolak sambungan.",
                              "the mail server could not be reached or refused the connection."),
    "alerts.reason.timeout": ("server e-mail tidak menjawab pada waktunya.", "the mail server did not answer in time."),
    "alerts.reason.tls": ("sambungan terenkripsi ke server e-mail gagal (sertifikat, atau TLS/STARTTLS tidak tersedia).",
                          "the encrypted connection to the mail server failed (certificate, or no TLS/STARTTLS)."),
    "alerts.reason.auth": ("server e-mail menolak login (smtp_user, smtp_password_file).",
                           "the mail server refused the login (smtp_user, smtp_password_file)."),
    "alerts.reason.rejected": ("server e-mail menolak pengirim, penerima, atau pesannya.",
                               "the mail server refused the sender, a recipient or the message."),
    "alerts.reason.closed": ("server e-mail memutus sambungan.", "the mail server closed the connection."),
    "alerts.reason.proxy": ("proxy SOCKS (socks_proxy) tidak dapat menyambung ke server e-mail.",
                            "the SOCKS proxy (socks_proxy) could not connect to the mail server."),
    "alerts.reason.password": ("berkas kata sandi (smtp_password_file) tidak dapat dibaca.",
                               "the password file (smtp_password_file) cannot be read."),
    "staff.forbidden": ("Halaman ini hanya untuk admin.", "This page is for admins only."),
    # Staff: roles, item kinds and authors (the stored values stay English words)
    "staff.role.admin": ("admin", "admin"),
    "staff.role.handler": ("petugas", "handler"),
    "staff.kind.report": ("Pengaduan", "Report"),
    "staff.kind.message": ("Pesan", "Message"),
    "staff.kind.attachment": ("Lampiran", "Attachment"),
    "staff.kind.reply": ("Balasan", "Reply"),
    "staff.author.reporter": ("pelapor", "reporter"),
    "staff.author.staff": ("petugas, daring", "staff, online"),
    "staff.author.keyholder": ("pemegang kunci", "keyholder"),
    "staff.from_keyholder": ("Dari pemegang kunci, diimpor {day}", "From the keyholders, imported {day}"),
    # Staff: status change, confirmed in a second step
    "staff.confirm_status": ("Konfirmasi perubahan status", "Confirm the status change"),
    "staff.confirm_status_text": ("Status pengaduan {code} akan diubah dari \u201c{old}\u201d menjadi \u201c{new}\u201d. "
                                  "Pelapor akan melihat status baru ini. Belum ada yang diubah.",
                                  "The status of report {code} will change from \u201c{old}\u201d to \u201c{new}\u201d. "
                                  "The reporter will see the new status. Nothing has changed yet."),
    "staff.confirm_status_button": ("Ya, ubah status", "Yes, change the status"),
    "staff.confirm_status_cancel": ("Batal, jangan ubah", "Cancel, change nothing"),
    "staff.err.status_moved": ("Status pengaduan {code} sudah berubah menjadi \u201c{now}\u201d sejak halaman ini dibuka."
                               " Tidak ada yang diubah; periksa lagi lalu pilih status baru.",
                               "The status of report {code} changed to \u201c{now}\u201d since this page was opened."
                               " Nothing was changed; look again and choose the new status."),
    # Staff: reply bundle refusals, one per kind of failure
    "staff.err.bundle.too_large": ("Berkas balasan terlalu besar untuk diimpor.", "The reply bundle is too large to import."),
    "staff.err.bundle.not_json": ("Berkas ini bukan berkas balasan: isinya tidak dapat dibaca. "
                                  "Pilih berkas .wbsr yang dibuat oleh alat pemegang kunci.",
                                  "This is not a reply bundle: its content cannot be read. "
                                  "Choose the .wbsr file made by the keyholder tools."),
    "staff.err.bundle.wrong_format": ("Berkas ini bukan berkas balasan WBS (.wbsr).",
                                      "This file is not a WBS reply bundle (.wbsr)."),
    "staff.err.bundle.unknown_signer": ("Berkas balasan ditandatangani dengan kunci yang tidak dikenal server ini.",
                                        "The reply bundle is signed with a key this server does not know."),
    "staff.err.bundle.retired_signer": ("Berkas balasan ditandatangani dengan kunci yang sudah tidak dipakai lagi.",
                                        "The reply bundle is signed with a key that is no longer in use."),
    "staff.err.bundle.bad_signature": ("Tanda tangan berkas balasan tidak sah: berkas rusak atau telah diubah.",
                                       "The reply bundle's signature is not valid: the file is damaged or was altered."),
    "staff.err.bundle.malformed": ("Isi berkas balasan tidak sesuai format: berkas rusak atau dibuat oleh program lain.",
                                   "The reply bundle's content is not in the expected format: the file is damaged or "
                                   "was made by another program."),
    "staff.err.bundle.not_for_mailbox": ("Ada balasan dalam berkas ini yang tidak dienkripsi untuk kotak surat "
                                         "pelapornya, sehingga pelapor tidak dapat membacanya.",
                                         "A reply in this bundle is not encrypted to its reporter's mailbox, so the "
                                         "reporter could not read it."),
    "staff.err.bundle.unknown_report": ("Ada balasan dalam berkas ini untuk pengaduan yang tidak ada di server ini.",
                                        "A reply in this bundle is for a report this server does not have."),
    "staff.err.bundle.not_for_org": ("Ada balasan dalam berkas ini yang tidak dienkripsi untuk kunci Inspektorat.",
                                     "A reply in this bundle is not encrypted to the Inspectorate's key."),
    # Staff: the audit log, one line per action (stored as an English word, shown in the reader's language)
    "staff.audit.actor.reporter": ("pelapor", "reporter"),
    "staff.audit.actor.retention": ("penghapusan otomatis", "automatic deletion"),
    "staff.audit.login": ("Masuk", "Logged in"),
    "staff.audit.logout": ("Keluar", "Logged out"),
    "staff.audit.login_failed": ("Gagal masuk", "Failed to log in"),
    "staff.audit.totp_replay": ("Kode autentikator dipakai ulang", "Authenticator code used again"),
    "staff.audit.password_change": ("Mengganti kata sandi", "Changed the password"),
    "staff.audit.user_add": ("Menambah pengguna {name} ({role})", "Added user {name} ({role})"),
    "staff.audit.user_disable": ("Menonaktifkan pengguna {name}", "Disabled user {name}"),
    "staff.audit.user_enable": ("Mengaktifkan pengguna {name}", "Enabled user {name}"),
    "staff.audit.user_reset": ("Mengatur ulang kata sandi dan 2FA pengguna {name}", "Reset the password and 2FA of {name}"),
    "staff.audit.status": ("Mengubah status menjadi \u201c{status}\u201d", "Changed the status to \u201c{status}\u201d"),
    "staff.audit.reply_online": ("Mengirim balasan daring", "Sent a reply online"),
    "staff.audit.reply_import": ("Mengimpor balasan dari pemegang kunci", "Imported a reply from the keyholders"),
    "staff.audit.reply_import_status": ("Mengimpor balasan dari pemegang kunci; status menjadi \u201c{status}\u201d",
                                        "Imported a reply from the keyholders; status set to \u201c{status}\u201d"),
    "staff.audit.import_refused": ("Menolak berkas balasan: {reason}", "Refused a reply bundle: {reason}"),
    "staff.audit.export": ("Mengekspor {reports} pengaduan, {items} item", "Exported reports: {reports}, items: {items}"),
    "staff.audit.purge": ("Menghapus {items} item karena masa simpan habis",
                          "Deleted at the end of the retention period, items: {items}"),
    "staff.audit.deleted_by_reporter": ("Dihapus oleh pelapor", "Deleted by the reporter"),
    "staff.audit.keys_install": ("Memasang kunci publik Inspektorat ({keys})", "Installed the Inspectorate's public key ({keys})"),
    "error.login_required": ("Silakan masuk terlebih dahulu dengan nama sandi dan frasa sandi Anda.",
                             "Please log in first with your codename and passphrase."),
    "logout.done": ("Anda telah keluar. Untuk keamanan, tutup juga Tor Browser jika perangkat ini dipakai orang lain.",
                    "You have logged out. For safety, also close Tor Browser if others use this device."),
}


def size_label(size: int) -> str:
    """A limit as people read it: whole MB where it is one, else MB or KB with one decimal."""
    mb = size / 2**20
    if mb >= 1:
        return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
    return f"{size / 1024:.0f} KB"


def pick(lang: str) -> int:
    return 1 if lang == "en" else 0


def t(lang: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang``, with ``{name}`` fields filled in."""
    text = MESSAGES[key][pick(lang)]
    return text.format(**values) if values else text


def status_label(lang: str, status: str) -> str:
    pair = STATUSES.get(status)
    return pair[pick(lang)] if pair else status


def status_explained(lang: str, status: str) -> str:
    pair = STATUS_EXPLAINED.get(status)
    return pair[pick(lang)] if pair else ""


def category_label(lang: str, key: str) -> str:
    pair = CATEGORIES.get(key)
    return pair[pick(lang)] if pair else key


def number(lang: str, value: float, decimals: int = 0) -> str:
    """A number as its reader writes it: ``1.234,5`` in Indonesian, ``1,234.5`` in English."""
    text = f"{value:,.{decimals}f}"
    if pick(lang):
        return text
    return text.translate(str.maketrans({",": ".", ".": ","}))


def role_label(lang: str, role: str) -> str:
    """A staff role as shown: the stored ``handler`` is a *petugas*."""
    pair = MESSAGES.get(f"staff.role.{role}")
    return pair[pick(lang)] if pair else role


def item_label(lang: str, kind: str, author: str) -> str:
    """An item's kind and author, e.g. ``Balasan (pemegang kunci)``."""
    kind_pair = MESSAGES.get(f"staff.kind.{kind}")
    author_pair = MESSAGES.get(f"staff.author.{author}")
    kind_text = kind_pair[pick(lang)] if kind_pair else kind
    author_text = author_pair[pick(lang)] if author_pair else author
    return f"{kind_text} ({author_text})"


KEY_STATES: dict[str, tuple[str, str]] = {
    "active": ("aktif", "active"),
    "retired": ("tidak dipakai lagi", "retired"),
}

MONTHS: tuple[tuple[str, str], ...] = (
    ("Januari", "January"), ("Februari", "February"), ("Maret", "March"), ("April", "April"),
    ("Mei", "May"), ("Juni", "June"), ("Juli", "July"), ("Agustus", "August"),
    ("September", "September"), ("Oktober", "October"), ("November", "November"), ("Desember", "December"),
)


def key_state_label(lang: str, state: str) -> str:
    pair = KEY_STATES.get(state)
    return pair[pick(lang)] if pair else state


def long_date(lang: str, day: str) -> str:
    """``2026-12-01`` (or a time starting with it) as people here write it: ``1 Desember 2026``.

    Anything that is not a date is shown as it is rather than failing a page.
    """
    try:
        year, month, dom = int(day[:4]), int(day[5:7]), int(day[8:10])
    except (ValueError, TypeError):
        return day
    if day[4:5] != "-" or day[7:8] != "-" or not 1 <= month <= 12 or not 1 <= dom <= 31:
        return day
    name = MONTHS[month - 1][pick(lang)]
    return f"{dom} {name} {year}"


def month_label(lang: str, month: str) -> str:
    """``2026-12`` as ``Desember 2026``; anything else as it is."""
    if len(month) != 7 or month[4] != "-" or not (month[:4].isdigit() and month[5:].isdigit()):
        return month
    index = int(month[5:])
    return f"{MONTHS[index - 1][pick(lang)]} {month[:4]}" if 1 <= index <= 12 else month
