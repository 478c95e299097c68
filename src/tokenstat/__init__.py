"""tokenstat: measure the LLM token economy.

Import token usage into a ledger, attribute every model to its lab and the lab's
country, price it, and compute the figures market reports are made of.
"""

__version__ = "0.1.0"
