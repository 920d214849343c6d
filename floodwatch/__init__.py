"""floodwatch: real-time monitoring and early warning for flood control."""

from floodwatch.alerts.event import AlertEvent
from floodwatch.alerts.state import Severity, Transition
from floodwatch.readings import Reading, Rejected

__all__ = ["AlertEvent", "Reading", "Rejected", "Severity", "Transition"]
__version__ = "0.1.0"
