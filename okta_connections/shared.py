"""One rate budget across processes, on Redis: ``OktaClient(..., shared_budget=URL)``.

Kept where users import it from; the code is in :mod:`okta_connections.ratelimit.budget`
(the budget on Redis) and :mod:`okta_connections.ratelimit.shared` (the pacer that draws
on it).
"""

from .ratelimit.budget import SharedBudget
from .ratelimit.budget import check_budget_url as check_budget_url
from .ratelimit.budget import masked_url as masked_url
from .ratelimit.shared import SharedRateLimiter as SharedRateLimiter

__all__ = ["SharedBudget"]
