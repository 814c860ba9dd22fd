"""Market data: the exchange calendar, price sources behind the ``PriceSource`` port
(Yahoo, CSV folder, synthetic), the price store, quality gates and the use cases that
record them (service) and turn them into signals and plans (decisions)."""
