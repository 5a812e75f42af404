"""Scout Jobs: the serverless back office of the Scout retail analytics platform."""

__version__ = "0.1.0"
