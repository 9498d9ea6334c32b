"""Yizhan's domain and spatial engine: regions, street networks, stations and service fields.

Nothing here imports Flask; every planner and worker computation is a plain function or class
that can be used from a notebook.
"""
