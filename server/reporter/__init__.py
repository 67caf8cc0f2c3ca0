"""The reporter's pages: the views of the reporter listener, the services
they call (submit, log in, read, answer), the streaming multipart intake that
seals uploads as they arrive, and the report and message forms with their
bounds and validation.
"""
