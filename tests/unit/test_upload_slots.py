"""The upload slots: the server's limit, and each tenant's share of it."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from server.defences.uploadlimits import TenantUploadSlots, UploadSlots
from server.errors import UploadsBusy


def test_the_server_limit_refuses_at_once_and_frees_on_exit():
    slots = UploadSlots(2)
    with slots.hold(), slots.hold():
        with pytest.raises(UploadsBusy):
            with slots.hold():
                pass
        assert slots.active == 2
    assert slots.active == 0


def test_a_tenant_holds_at_most_half_and_the_server_limit_binds_them_all():
    shared = UploadSlots(4)
    a, b, c = (TenantUploadSlots(shared) for _ in range(3))
    assert a.limit == 2
    with ExitStack() as held:
        held.enter_context(a.hold())
        held.enter_context(a.hold())
        with pytest.raises(UploadsBusy):
            held.enter_context(a.hold())
        assert (a.active, shared.active) == (2, 2)  # a refusal takes nothing
        held.enter_context(b.hold())
        held.enter_context(b.hold())
        with pytest.raises(UploadsBusy):  # c's own share is empty, the server's is not
            held.enter_context(c.hold())
        assert (c.active, shared.active) == (0, 4)
    assert (a.active, b.active, shared.active) == (0, 0, 0)


def test_a_share_is_at_least_one_slot():
    assert TenantUploadSlots(UploadSlots(1)).limit == 1


def test_an_upload_that_fails_gives_its_slot_back():
    shared = UploadSlots(4)
    tenant = TenantUploadSlots(shared)
    with pytest.raises(OSError):
        with tenant.hold():
            raise OSError("disk full")
    assert (tenant.active, shared.active) == (0, 0)
