"""rigshift: turn a former crypto-mining site into a GPU cloud, as code."""

__version__ = "0.1.0"
