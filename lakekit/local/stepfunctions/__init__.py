"""Step Functions executions inside the local endpoint.

:mod:`lakekit.local.stepfunctions.interpreter` hooks moto's bundled ASL interpreter (LocalStack's,
``moto.stepfunctions.parser``) into the endpoint: its service calls go through the gateway with the
state machine role's credentials, Wait/Retry intervals follow ``LAKEKIT_SFN_TIME_SCALE``, error
names follow AWS's. The API (StartExecution & co.) is :mod:`lakekit.local.services.stepfunctions`.
"""
from __future__ import annotations
