"""OpenTelemetry traces and metrics of the SDK (extra ``okta-connections[otel]``).

Kept where users import it from; the code is in :mod:`okta_connections.pipeline.otel`.
Importing this module imports ``opentelemetry``.
"""

from .pipeline.otel import APP_ID as APP_ID
from .pipeline.otel import ATTEMPTS as ATTEMPTS
from .pipeline.otel import BUCKET as BUCKET
from .pipeline.otel import DURATION_BUCKETS as DURATION_BUCKETS
from .pipeline.otel import ERROR_TYPE as ERROR_TYPE
from .pipeline.otel import INSTRUMENTATION_NAME, Telemetry
from .pipeline.otel import KIND as KIND
from .pipeline.otel import LIMIT as LIMIT
from .pipeline.otel import METHOD as METHOD
from .pipeline.otel import OPERATION as OPERATION
from .pipeline.otel import PACING_BUCKETS as PACING_BUCKETS
from .pipeline.otel import PACING_EVENT as PACING_EVENT
from .pipeline.otel import REMAINING as REMAINING
from .pipeline.otel import REQUEST_ID as REQUEST_ID
from .pipeline.otel import RESEND_COUNT as RESEND_COUNT
from .pipeline.otel import RETRY_COUNT as RETRY_COUNT
from .pipeline.otel import SERVER_ADDRESS as SERVER_ADDRESS
from .pipeline.otel import SERVER_PORT as SERVER_PORT
from .pipeline.otel import STATUS_CODE as STATUS_CODE
from .pipeline.otel import URL_FULL as URL_FULL
from .pipeline.otel import URL_TEMPLATE as URL_TEMPLATE
from .pipeline.otel import WAIT as WAIT
from .pipeline.otel import BulkSpan as BulkSpan

__all__ = ["INSTRUMENTATION_NAME", "Telemetry"]
