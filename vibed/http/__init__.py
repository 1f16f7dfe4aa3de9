"""HTTP: the Quart-Trio application (API, health, page) and how it is served by Hypercorn."""
