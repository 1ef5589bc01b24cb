"""The HubSpot CRM v3 products emulator (see `emulators.hubspot.app.create_app`)."""

from emulators.hubspot.app import HubSpot, create_app
from emulators.hubspot.auth import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_PORTAL, DEV_TOKEN

__all__ = ["DEV_CLIENT_ID", "DEV_CLIENT_SECRET", "DEV_PORTAL", "DEV_TOKEN", "HubSpot", "create_app"]
