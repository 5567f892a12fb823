"""Domain services: plain Python over SQLAlchemy sessions, no Flask.

Views and socket handlers parse input, build an `Actor`, call a service and answer.
"""
