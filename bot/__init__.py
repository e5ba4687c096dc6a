"""paybot: send money by tweet. See README.md and docs/DESIGN.md for the big picture."""

__version__ = "0.1.0"
