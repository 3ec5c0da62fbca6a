"""An org's settings: one versioned item, changed by its admins, read by the window's sales (the capture
policy decides an anonymous sale, so the sale's transaction checks the version it was decided on)."""

from __future__ import annotations

from customer_profiles.data import keys
from customer_profiles.data.codec import Item, settings_from_item, settings_to_item
from customer_profiles.data.table import Records
from customer_profiles.data.tx import TransactionCancelled, Tx
from customer_profiles.errors import StateConflict
from customer_profiles.models.activity import Actor
from customer_profiles.models.domain import OrgSettings


def settings_or_default(org_id: str, item: Item | None) -> OrgSettings:
    return settings_from_item(item) if item else OrgSettings(org_id=org_id)


def add_settings_check(tx: Tx, settings: OrgSettings) -> None:
    """The settings are still at the version a decision was taken on (never written: still not)."""
    key = keys.org_settings_key(settings.org_id)
    if settings.version:
        tx.check(key, "#version = :v", v=settings.version)
    else:
        tx.check(key, "attribute_not_exists(pk)")


class SettingsRecords(Records):
    def org_settings(self, org_id: str) -> OrgSettings:
        """The settings as they are (strongly consistent), or the defaults at version 0."""
        return settings_or_default(org_id, self.db.get(keys.org_settings_key(org_id)))

    def write_settings(self, settings: OrgSettings, *, read_version: int, changed_by: Actor) -> None:
        """The new settings over the version read (with whatever the store's writes carry: the admin's
        membership); StateConflict when another change came first."""
        tx = self.db.tx()
        item = settings_to_item(settings, changed_by)
        if read_version:
            tx.put_at_version(item, read_version)
        else:
            tx.put_if_new(item)
        try:
            tx.execute(self.db.client)
        except TransactionCancelled as error:
            if error.reasons.get(len(tx.items) - 1) == "condition_failed":
                raise StateConflict(f"stale version {read_version}: the settings changed meanwhile") from error
            raise
