"""Reconciliation of the ledger with the broker's own records (IBKR Flex statements).

``flex`` reads a statement into typed values, ``matching`` compares it with the ledger
(pure), ``service`` is the ``reconcile`` use case (save, compare, record, import flows) and
``fetch`` downloads a statement through IBKR's Flex Web Service.
"""
