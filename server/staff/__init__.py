"""The staff pages: the views of the staff listener, the workflow behind
them (accounts with TOTP, case statuses, online replies, reply bundle import,
dashboard and statistics, all metadata only), the deadlines of a case in
working days, and the sentences the audit log is shown in.
"""
