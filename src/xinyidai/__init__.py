"""xinyidai — an open-source 信易贷 (credit-easy-loan) platform."""

__version__ = "0.1.0"
