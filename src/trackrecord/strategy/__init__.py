"""The strategy's pure core: the 12-1 momentum signal and the rebalance planner.

Nothing here imports market, ledger or cli code, reads a clock, the environment or a file.
"""
