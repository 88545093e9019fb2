"""One service class per API resource."""

from .apps import AppsService, parse_link_header
from .connections import OPERATIONS, ConnectionsService

__all__ = ["OPERATIONS", "AppsService", "ConnectionsService", "parse_link_header"]
