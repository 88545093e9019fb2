"""The request pipeline: every call and token request of a client, from pacing to errors.

- :mod:`.session`: :class:`~.session.Session`, the engine that runs each exchange;
- :mod:`.exchange`: what one call is (its :class:`~.exchange.Operation`, its exchange);
- :mod:`.retry`: retry decisions as data (:class:`~.retry.RetryPolicy`);
- :mod:`.events`: what hooks and logs see; :mod:`.observe`: who is told;
- :mod:`.otel`: the OpenTelemetry bridge, imported only when it is installed.

Nothing is imported from here: import the defining module.
"""
