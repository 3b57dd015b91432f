"""invigilator: real-time proctoring service."""

__version__ = "0.1.0"
