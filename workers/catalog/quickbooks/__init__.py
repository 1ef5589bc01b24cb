"""The QuickBooks Online implementation of the `Catalog` port."""

from workers.catalog.quickbooks.catalog import QuickBooksCatalog

__all__ = ["QuickBooksCatalog"]
