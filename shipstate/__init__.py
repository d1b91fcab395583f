"""shipstate: declarative deploys of Python web apps over SSH."""

__version__ = "0.1.0"
