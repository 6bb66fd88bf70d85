"""xlqa engine: data, sampling, losses, training, decoding, scoring and jobs. No UI imports."""

__version__ = "0.1.0"
