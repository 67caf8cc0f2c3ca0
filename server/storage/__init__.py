"""Everything on disk: the one module with SQL (``store``) and its numbered
migrations, the ciphertext blob store, and the data folder's layout.
Nothing here holds plaintext of a report.
"""
