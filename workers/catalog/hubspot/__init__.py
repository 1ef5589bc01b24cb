"""The HubSpot implementation of the `Catalog` port."""

from workers.catalog.hubspot.catalog import HubSpotCatalog

__all__ = ["HubSpotCatalog"]
