"""One service class per API resource."""

from .connections import OPERATIONS, ConnectionsService

__all__ = ["OPERATIONS", "ConnectionsService"]
