"""An org's settings, read and changed by its admins: versioned (a stale version is a 409), each change on
the org's own trail (written from the stream: domain.effects.activity)."""

from __future__ import annotations

from customer_profiles.clock import utc_now
from customer_profiles.domain.staff.access import acting_staff, require_staff_of, staff_actor
from customer_profiles.errors import StateConflict
from customer_profiles.models.api import OrgSettingsRequest, OrgSettingsResponse
from customer_profiles.models.principal import Principal
from customer_profiles.ports.staff import OrgSettingsStore

ADMINS = frozenset({"admin"})


def read_settings(store: OrgSettingsStore, principal: Principal, org_id: str) -> OrgSettingsResponse:
    require_staff_of(principal, org_id, any_role=ADMINS)
    return OrgSettingsResponse.of(store.org_settings(org_id))


def change_settings(
    store: OrgSettingsStore, principal: Principal, org_id: str, request: OrgSettingsRequest
) -> OrgSettingsResponse:
    """The settings as asked, over the version the admin read (another -> StateConflict, 409); the same
    settings again change nothing (no new version, nothing on the trail). The admin's membership is checked
    in the write's own transaction."""
    acting = acting_staff(store, principal, org_id, any_role=ADMINS)
    current = store.org_settings(org_id)
    if request.version != current.version:
        raise StateConflict(f"stale version {request.version}: the settings are at version {current.version}")
    if request.pos_capture == current.pos_capture:
        return OrgSettingsResponse.of(current)
    changed = current.model_copy(
        update={"pos_capture": request.pos_capture, "version": current.version + 1, "updated_at": utc_now()}
    )
    acting.write_settings(
        changed, read_version=current.version, changed_by=staff_actor(principal, org_id, any_role=ADMINS)
    )
    return OrgSettingsResponse.of(changed)
