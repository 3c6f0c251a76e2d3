"""A simulated hall (`flask hall simulate`): synthetic days through the real queue engine.

profile (what a day looks like) → visitors (the day's arrivals, drawn with a seed) →
day (the day run through the engine on a simulated clock) → figures (the reports' code);
run puts them together on a scratch database or in a live hall; whatif makes staffing options.
"""
