"""The online half of WBS: the reporter and staff listeners."""
